"""Rate-limit budgets as a small aligned table, for `wire limits`.

Layer: core (stdlib only, no clock): the time is an argument. A response's
`RateLimits` become one row per limit it reports (requests, input tokens,
output tokens, ...): the limit, what remains, the share left, and when the
bucket is full again (its `reset`), so a person can watch a key's budget drain
and refill.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from ._ratelimit import Limit, RateLimits

__all__ = ["budget_json", "budget_table", "count", "reported"]

# (attribute of RateLimits, the row's name), in the order they are shown.
_ROWS = (
    ("requests", "requests"),
    ("tokens", "tokens"),
    ("input_tokens", "input tokens"),
    ("output_tokens", "output tokens"),
    ("priority_input_tokens", "priority input tokens"),
    ("priority_output_tokens", "priority output tokens"),
)
_HEADER = ("budget", "limit", "remaining", "left", "full at")
_RIGHT = (False, True, True, True, False)  # numbers are right-aligned


def reported(limits: RateLimits) -> list[tuple[str, str, Limit]]:
    """(attribute, name, limit) for each limit the response reported, in `_ROWS` order."""
    rows = []
    for attr, name in _ROWS:
        limit: Limit = getattr(limits, attr)
        if limit.limit is not None or limit.remaining is not None:
            rows.append((attr, name, limit))
    return rows


def count(value: int | None) -> str:
    """A count with thousands separators, `?` when not reported."""
    return "?" if value is None else f"{value:,}"


def _share(limit: Limit) -> str:
    """The share left, rounded down to a tenth of a percent (99.95% left is not 100%)."""
    if limit.limit is None or limit.remaining is None or limit.limit <= 0:
        return "?"
    share = math.floor(1000 * min(limit.remaining, limit.limit) / limit.limit) / 10
    return f"{share:.1f}%"


def _full_at(reset: float | None, now: float) -> str:
    """The reset as a UTC time of day (with milliseconds when it has them) and its distance."""
    if reset is None:
        return "?"
    at = datetime.fromtimestamp(reset, UTC)
    clock = at.strftime("%H:%M:%S")
    if at.microsecond:
        clock += f".{at.microsecond // 1000:03d}"
    wait = max(0.0, reset - now)
    distance = f"{wait:.1f}" if wait < 10 else f"{wait:.0f}"
    return f"{clock}Z (in {distance} s)"


def budget_table(limits: RateLimits, now: float) -> list[str]:
    """The table's lines (a header, then a row a reported limit), or one line saying none.

    `now` (epoch seconds) is when the response came, for the time left to each reset.
    Headers the table has no row for (`limits.extra`) follow as `name: value` lines.
    """
    rows = [
        (name, count(lim.limit), count(lim.remaining), _share(lim), _full_at(lim.reset, now))
        for _, name, lim in reported(limits)
    ]
    lines = []
    if rows:
        widths = [max(len(row[i]) for row in (_HEADER, *rows)) for i in range(len(_HEADER))]
        for row in (_HEADER, *rows):
            cells = [
                cell.rjust(width) if right else cell.ljust(width)
                for cell, width, right in zip(row, widths, _RIGHT, strict=True)
            ]
            lines.append("  " + "  ".join(cells).rstrip())
    lines += [f"  {name}: {value}" for name, value in sorted(limits.extra.items())]
    return lines or ["  none reported"]


def budget_json(limits: RateLimits) -> dict[str, Any]:
    """The reported limits as JSON-ready values (resets in epoch seconds)."""
    table: dict[str, Any] = {
        attr: {"limit": limit.limit, "remaining": limit.remaining, "reset": limit.reset}
        for attr, _, limit in reported(limits)
    }
    return {**table, "retry_after": limits.retry_after, "extra": dict(limits.extra)}
