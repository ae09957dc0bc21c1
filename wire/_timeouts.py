"""`Timeout`: how long a client waits, per kind of wait.

Layer: core (a plain value; the drivers enforce it with their own clocks).
Rule: every field has a documented default, `None` disables that one, and a
number given instead of a `Timeout` applies to all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._errors import InvalidParameterError

__all__ = ["DEFAULT_TIMEOUT", "Timeout"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeout:
    """Seconds a client may wait, per kind of wait (`None`: no limit).

    - `connect` (5 s): to open the connection (TCP, proxy tunnel, TLS);
    - `read` (600 s): for any single read or write, the response head included;
    - `idle` (120 s): between two stream events, pings included;
    - `stall` (300 s): between two content events (pings do not count, so a
      stream that only pings is stalled);
    - `total` (None): the whole call, retries and their waits included.

    `connect` and `read` match the official SDK's; `idle` and `stall` bound
    what it leaves open (a trickling or ping-only stream never times out
    there); `total` is off by default, as in the SDK.
    """

    connect: float | None = 5.0
    read: float | None = 600.0
    idle: float | None = 120.0
    stall: float | None = 300.0
    total: float | None = None

    def __post_init__(self) -> None:
        for name in ("connect", "read", "idle", "stall", "total"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise InvalidParameterError(f"timeout.{name}", "must be a positive number or None")

    @classmethod
    def of(cls, value: Timeout | float | None) -> Timeout:
        """A `Timeout` from what a client was given: a `Timeout`, seconds for all, or None
        (the defaults)."""
        if value is None:
            return DEFAULT_TIMEOUT
        if isinstance(value, Timeout):
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidParameterError("timeout", "must be a Timeout, a number of seconds or None")
        seconds = float(value)
        return cls(connect=seconds, read=seconds, idle=seconds, stall=seconds, total=seconds)


DEFAULT_TIMEOUT = Timeout()
