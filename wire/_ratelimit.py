"""Rate limits: the API's rate-limit headers as values, and a client-side `Limiter`.

Layer: core (stdlib only, no clock), above `_retry`. Rule: parsing never raises
on what a server sends (a malformed value becomes `None`), and time is an
argument (`now`, epoch seconds), never read. The API applies requests, input
and output tokens per minute at once, each a continuously refilling token
bucket (PROTOCOL.md §7); `Limiter` keeps the same buckets on the client.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TypeVar

from ._errors import InvalidParameterError, LocalProtocolError, shown
from ._retry import HeadersLike, header_map, retry_after_seconds

__all__ = [
    "Limit",
    "Limiter",
    "RateLimits",
    "Reservation",
    "class_key",
    "estimate_input_tokens",
    "keep_recent",
    "model_class",
    "parse_rfc3339",
]

_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))",
    re.ASCII,
)
_COUNT = re.compile(r"[0-9]{1,18}", re.ASCII)  # 18 digits: far past any real limit


def parse_rfc3339(value: str) -> float | None:
    """An RFC 3339 timestamp (`2025-08-21T12:40:59Z`, fractions, `+02:00` offsets) as epoch
    seconds, or `None` if `value` is not one. A leap second (`:60`) counts as the next one."""
    m = _RFC3339.fullmatch(value.strip())
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    fraction, sign, hours, minutes = m.groups()[6:]
    if second > 60 or (sign and (int(hours) > 23 or int(minutes) > 59)):
        return None
    offset = 0 if not sign else (int(hours) * 60 + int(minutes)) * (60 if sign == "+" else -60)
    try:
        start = datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()
    except ValueError:
        return None
    return start + second + (float("0" + fraction) if fraction else 0.0) - offset


_CLASS_NEW = re.compile(r"claude-([a-z]+)(?:-([0-9]+)(?![0-9]{3,}))?", re.ASCII)  # claude-opus-4-6
_CLASS_OLD = re.compile(r"claude-([0-9]+)(?:-[0-9]+)?-([a-z]+)", re.ASCII)  # claude-3-5-haiku-...


def model_class(model: str) -> str:
    """The rate-limit class a model id belongs to: limits are kept per class (PROTOCOL.md §7).

    The family and major version: `claude-opus-4-6` and `claude-opus-4-5-20251101` are
    `"opus-4"`, `claude-haiku-4-5` is `"haiku-4"`, `claude-3-5-haiku-20241022` is
    `"haiku-3"`, `claude-mythos-preview` is `"mythos"`; any other id is its own class.
    """
    name = model.strip().lower()
    if m := _CLASS_OLD.match(name):
        return f"{m.group(2)}-{m.group(1)}"
    if m := _CLASS_NEW.match(name):
        return m.group(1) if m.group(2) is None else f"{m.group(1)}-{m.group(2)}"
    return name


def _count(value: str | None) -> int | None:
    return int(value) if value is not None and _COUNT.fullmatch(value) else None


@dataclass(frozen=True, slots=True)
class Limit:
    """One limit: its size, what is left of it, and when it is full again (epoch seconds)."""

    limit: int | None = None
    remaining: int | None = None
    reset: float | None = None


_FIELDS = {
    "anthropic-ratelimit-requests-": "requests",
    "anthropic-ratelimit-tokens-": "tokens",
    "anthropic-ratelimit-input-tokens-": "input_tokens",
    "anthropic-ratelimit-output-tokens-": "output_tokens",
    "anthropic-priority-input-tokens-": "priority_input_tokens",
    "anthropic-priority-output-tokens-": "priority_output_tokens",
}
_NO_LIMIT = Limit()
_PREFIXES = ("anthropic-ratelimit-", "anthropic-priority-", "anthropic-fast-")
_NO_EXTRA: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimits:
    """A response's rate-limit headers, typed (PROTOCOL.md §7). Every part is optional.

    `requests`, `tokens` (the most restrictive token limit in force),
    `input_tokens`, `output_tokens` and the Priority Tier's
    `priority_input_tokens` / `priority_output_tokens` are `Limit`s read from
    `anthropic-ratelimit-*` / `anthropic-priority-*` `-limit`, `-remaining`
    (token counts are rounded to the thousand by the API) and `-reset`.
    `retry_after` is the server-named delay in seconds (`retry-after-ms`, then
    `retry-after`; see `wire._retry.parse_retry_after`). `extra` keeps every other
    `anthropic-ratelimit-*`, `anthropic-priority-*` and `anthropic-fast-*`
    header by lower-case name, so limits added later are not lost.
    """

    requests: Limit = _NO_LIMIT
    tokens: Limit = _NO_LIMIT
    input_tokens: Limit = _NO_LIMIT
    output_tokens: Limit = _NO_LIMIT
    priority_input_tokens: Limit = _NO_LIMIT
    priority_output_tokens: Limit = _NO_LIMIT
    retry_after: float | None = None
    extra: Mapping[str, str] = field(default_factory=lambda: _NO_EXTRA)

    @classmethod
    def from_headers(cls, headers: HeadersLike | None, *, now: float | None = None) -> RateLimits:
        """Parse response headers (a mapping or (name, value) pairs; names in any case).

        Counts are plain decimal digits and resets RFC 3339 timestamps; any
        other value becomes `None`. This never raises on header content.
        `retry-after` in its HTTP-date form is read only when `now` (epoch
        seconds) is given, as the date minus `now` (0.0 for a past date).
        """
        names = header_map(headers)
        parts: dict[str, dict[str, str]] = {}
        extra: dict[str, str] = {}
        for name, value in names.items():
            if not name.startswith(_PREFIXES):
                continue
            base, _, part = name.rpartition("-")
            attr = _FIELDS.get(base + "-")
            if attr is not None and part in ("limit", "remaining", "reset"):
                parts.setdefault(attr, {})[part] = value
            else:
                extra[name] = value

        def limit(attr: str) -> Limit:
            if (p := parts.get(attr)) is None:
                return _NO_LIMIT
            reset = p.get("reset")
            return Limit(
                _count(p.get("limit")),
                _count(p.get("remaining")),
                None if reset is None else parse_rfc3339(reset),
            )

        return cls(
            requests=limit("requests"),
            tokens=limit("tokens"),
            input_tokens=limit("input_tokens"),
            output_tokens=limit("output_tokens"),
            priority_input_tokens=limit("priority_input_tokens"),
            priority_output_tokens=limit("priority_output_tokens"),
            retry_after=retry_after_seconds(names, now),
            extra=MappingProxyType(extra) if extra else _NO_EXTRA,
        )


# --- input tokens, estimated -----------------------------------------------------------

_COUNTED = ("system", "messages", "tools", "tool_choice")
_NOT_TEXT = frozenset({"type", "cache_control"})
_PER_TURN = 4  # a message's framing (role, turn markers)
_PER_SOURCE = 1600  # an image or document: the API's image cap is about 1,600 tokens


def estimate_input_tokens(request: Mapping[str, Any] | bytes) -> int:
    """An estimate, with no network call, of the input tokens a Messages request counts.

    `request` is the request's parameters (`model=`, `messages=` ...) or its JSON body.
    Text in `system`, `messages`, `tools` and `tool_choice` (every string, key
    and number but `type` and `cache_control`) counts a token per 4 ASCII
    characters and one per other character; each message adds 4 and each
    image or document `source` 1,600. See docs/http.md for its error bound
    (the API's tokenizer is not public). A body that is not JSON: a token per
    4 bytes. Linear in the request's size.
    """
    if isinstance(request, bytes | bytearray):
        try:
            parsed = json.loads(request)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            return max(1, len(request) // 4)
        request = parsed
    messages = request.get("messages")
    turns = len(messages) if isinstance(messages, list) else 0
    ascii_chars = other = sources = 0
    stack = [request.get(key) for key in _COUNTED]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if value.isascii():
                ascii_chars += len(value)
            else:
                wide = len(value.encode("ascii", "ignore"))
                ascii_chars, other = ascii_chars + wide, other + len(value) - wide
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key == "source" and isinstance(item, dict):
                    sources += 1
                elif key not in _NOT_TEXT:
                    ascii_chars += len(key)
                    stack.append(item)
        elif value is not None:
            ascii_chars += len(str(value))
    return max(1, -(-ascii_chars // 4) + other + _PER_TURN * turns + _PER_SOURCE * sources)


# --- the client-side limiter ------------------------------------------------------------

_KINDS = ("requests", "input_tokens", "output_tokens")
_ROUNDING = 500  # a token `remaining` that is a multiple of 1000 may be rounded by this much
_MARGIN = 0.3  # of a bucket, kept free when others share the key (see _FADE)
_MIN_SHARE = 1 / 64
_FADE = 4.0  # the margin is whole for a share up to 1 - 1/_FADE, fading to none at 1
_MIN_GUESS = 1 / 16  # the least share guessed before one is measured
_MINUTE = 60.0  # the window until `reset` teaches another (a shortened minute)
_SAMPLE = 1.0  # buckets of use counted before a share is measured (less: noisy, unfair)
_MIN_SAMPLE = 0.05  # of a bucket: enough over a full history of syncs
_PROBE = 0.05  # seconds between asks while a class's first request is unanswered
_SPAN = 3.0  # windows of syncs a share is measured over (shorter: noisier, sums past 1)
_HISTORY = 64  # syncs kept for the share estimate (bounded, whatever the traffic)
_UNANSWERED = 4096  # bookings awaiting a response kept per class (more: the oldest go)
_MAX_CLASSES = 256  # classes kept at once (more: the least recently used is forgotten)
_MAX_NAME = 256  # characters of a class name kept (model ids are far shorter)
_MAX_COUNT = 10**18  # the largest count, token number or limit taken (as `_COUNT` reads)
_REPR_CLASSES = 8  # classes a repr shows
_V = TypeVar("_V")


def class_key(model: str) -> str:
    """`model_class(model)` as classes are kept (a `Limiter`'s, `Session.rate_limits`):
    at most `_MAX_NAME` characters, from at most `4 * _MAX_NAME` of the id."""
    return model_class(model[: 4 * _MAX_NAME])[:_MAX_NAME]


def keep_recent(table: dict[str, _V], key: str, value: _V) -> None:
    """Set `table[key]` and make it the most recently used (last); past `_MAX_CLASSES`
    keys the least recently used (first) is forgotten."""
    table.pop(key, None)
    if len(table) >= _MAX_CLASSES:
        del table[next(iter(table))]
    table[key] = value


def _finite(value: object) -> float | None:
    """`value` as a finite float, or None if it is not a finite real number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int past float's range
        return None
    return number if math.isfinite(number) else None


def _time(name: str, value: float) -> float:
    """A caller's clock reading: a finite number, else `InvalidParameterError` naming it."""
    seconds = _finite(value)
    if seconds is None:
        raise InvalidParameterError(name, f"must be a finite number of seconds, got {shown(value)}")
    return seconds


def _bounded(value: object, low: int) -> int | None:
    """An int from `low` to `_MAX_COUNT` (larger ones clamped), else None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return None if value < low else min(value, _MAX_COUNT)


def _clean(part: Limit) -> Limit:
    """A `Limit` as `update` trusts it: counts in range, a finite reset (else None).

    `from_headers` makes only such values; a `RateLimits` built by hand may hold any."""
    return Limit(_bounded(part.limit, 1), _bounded(part.remaining, 0), _finite(part.reset))


def _hold(retry_after: object) -> float | None:
    """A `retry_after` to hold for: a positive finite number, else None."""
    seconds = _finite(retry_after)
    return seconds if seconds is not None and seconds > 0 else None


class _Bucket:
    """A continuously refilling bucket kept as GCRA's "theoretical arrival time" `tat`:
    the moment it would be full again, so its level at `t` is
    `capacity - rate * max(0, tat - t)` (negative after an oversized request).

    `ceiling` is what the caller configured (per minute), never exceeded; `limit`
    the server's bucket size, learned from headers. This limiter's own bucket is
    its share of the server's, refilling at its share of the server's rate.
    """

    __slots__ = ("capacity", "ceiling", "limit", "rate", "synced_at", "tat")

    def __init__(self, per_minute: float | None) -> None:
        self.ceiling = self.capacity = None if per_minute is None else float(per_minute)
        self.limit: float | None = None
        self.rate = per_minute / 60 if per_minute else 0.0
        self.tat = self.synced_at = -math.inf

    def level(self, now: float) -> float:
        assert self.capacity is not None
        return self.capacity - self.rate * max(0.0, self.tat - now)

    def set_level(self, now: float, level: float) -> None:
        assert self.capacity is not None
        self.tat = now + (self.capacity - level) / self.rate

    def adjust(self, now: float, tokens: float) -> None:
        """Charge `tokens` (or, when negative, give them back, never past full)."""
        if self.capacity is None or not tokens:
            return
        if tokens > 0:
            self.tat = max(self.tat, now) + tokens / self.rate
        else:
            self.tat = max(now, self.tat + tokens / self.rate)

    def reshape(self, now: float, share: float, window: float) -> None:
        """Size and rate from the server's limit, this limiter's share and the window."""
        if self.limit is None:
            return
        capacity, rate = share * self.limit, share * self.limit / window
        if self.ceiling is not None:
            capacity, rate = min(capacity, self.ceiling), min(rate, self.ceiling / 60)
        if self.capacity is None:  # an unlimited bucket adopts the server's limit, full
            self.capacity, self.rate = capacity, rate
        elif (capacity, rate) != (self.capacity, self.rate):
            level = self.level(now)
            self.capacity, self.rate = capacity, rate
            self.set_level(now, min(level, capacity))


class _Booking:
    __slots__ = ("cls", "costs", "counted", "owner", "send_at", "settled")

    def __init__(
        self, send_at: float, costs: tuple[int, int, int], cls: _Class, owner: Limiter
    ) -> None:
        self.send_at, self.costs, self.settled, self.counted = send_at, costs, False, False
        self.cls = cls  # its class's state (settling one forgotten since changes nothing kept)
        self.owner = owner


@dataclass(frozen=True, slots=True)
class Reservation:
    """A booked request: wait `wait` seconds (until `send_at`) before sending it.

    Not `booked`: nothing is known of the class yet and its first request is
    unanswered, so nothing was booked; ask again at `send_at` (`record_usage`
    on it does nothing)."""

    wait: float
    send_at: float
    input_tokens: int
    output_tokens: int
    _booking: _Booking | None = field(repr=False, compare=False)

    @property
    def booked(self) -> bool:
        """False for a request to book again at `send_at`, not to send."""
        return self._booking is not None


def _tokens(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_COUNT:
        raise InvalidParameterError(
            name, f"must be an integer from 0 to 10**18, got {shown(value)}"
        )
    return value


class _Class:
    """One model class's buckets, queue, hold, window and share of the key."""

    __slots__ = (
        "buckets",
        "configured",
        "counted",
        "deficit",
        "heard",
        "history",
        "last",
        "last_send",
        "learned",
        "measured",
        "not_before",
        "served",
        "share",
        "unanswered",
        "unanswered_costs",
        "unsettled_output",
        "window",
    )

    def __init__(self, ceilings: tuple[float | None, ...]) -> None:
        self.buckets = tuple(_Bucket(value) for value in ceilings)
        self.configured = any(value is not None for value in ceilings)  # ceilings were given
        self.unanswered: deque[_Booking] = deque()  # booked, no response yet, in order
        self.unanswered_costs = [0, 0, 0]  # their costs summed per axis, kept as they come and go
        self.last_send = self.not_before = -math.inf
        self.window, self.learned = _MINUTE, False
        self.heard = False  # a response of this class came (with headers or not)
        self.deficit: float | None = None  # requests counted by the server at the first sync
        self.unsettled_output = 0  # output tokens booked and not yet settled
        # Per axis: this limiter's share of the key, what the server counted of this
        # limiter's requests and of everyone's (running sums), the last level seen.
        self.share = [1.0, 1.0, 1.0]
        self.measured = [False, False, False]  # a share from a window of use, not a guess
        self.counted = [0.0, 0.0, 0.0]
        self.served = [0.0, 0.0, 0.0]
        self.last: list[tuple[float, float] | None] = [None, None, None]
        self.history: deque[tuple[float, tuple[float, ...], tuple[float, ...]]] = deque(
            maxlen=_HISTORY
        )

    def answered(self, now: float, refused: bool) -> None:
        """A response came: the server has counted (or refused) the oldest request
        sent; about so, as responses come back in about the order requests went."""
        if self.unanswered and self.unanswered[0].send_at <= now:
            booking = self.popleft()
            if not refused:
                booking.counted = True
                self.counted[0] += 1
                self.counted[1] += booking.costs[1]

    def push(self, booking: _Booking) -> None:
        """Queue a booked request until a response answers it (the oldest goes past
        `_UNANSWERED`: never answered nor settled, it is forgotten)."""
        if len(self.unanswered) >= _UNANSWERED:
            self.popleft()
        self.unanswered.append(booking)
        for axis, cost in enumerate(booking.costs):
            self.unanswered_costs[axis] += cost

    def popleft(self) -> _Booking:
        booking = self.unanswered.popleft()
        for axis, cost in enumerate(booking.costs):
            self.unanswered_costs[axis] -= cost
        return booking

    def forget(self, booking: _Booking) -> None:
        with contextlib.suppress(ValueError):  # answered already
            self.unanswered.remove(booking)
            for axis, cost in enumerate(booking.costs):
                self.unanswered_costs[axis] -= cost

    def learn_window(self, requests: Limit, wall: float) -> None:
        """The server's refill window from the requests axis (exact counts): a bucket
        short of `limit - remaining` is full again at `reset`, so it refills at
        `(limit - remaining) / (reset - wall)` a second, the whole of it in
        `limit / rate` seconds. Later readings move the estimate by their weight."""
        limit, remaining, reset = requests.limit, requests.remaining, requests.reset
        if not limit or remaining is None or reset is None or remaining >= limit:
            return
        ahead = reset - wall
        if not 0 < ahead < 86_400:
            return
        deficit = (limit - remaining) / limit
        estimate = min(max(ahead / deficit, 0.05), 86_400.0)
        if not self.learned:
            self.window, self.learned = estimate, True
        else:
            self.window += max(0.05, deficit) * (estimate - self.window)

    def learn_share(self, now: float, limits: tuple[Limit, ...]) -> None:
        """This limiter's share of the key, per axis: its use over all the server counted.

        Between two syncs the server counted `level before + refill - level now`
        (everyone's use; rounding errors cancel out over a run of syncs), of
        which this limiter's is what its responses since say it used. Over
        about a window of syncs the ratio is the share of the rate it has
        been getting. The shares of limiters sharing a key sum to about 1, so
        pacing each to its share of the rate paces all to the rate, with no
        coordinator. A bucket found full hides use, so the tight axis (never
        full) is measured best, and it is the one that matters.
        """
        for axis, part in enumerate(limits):
            limit, remaining = part.limit, part.remaining
            if not limit or remaining is None:
                continue
            level = float(min(remaining, limit))
            if (last := self.last[axis]) is not None:
                then, before = last
                refill = max(0.0, now - then) * limit / self.window
                self.served[axis] += min(limit, before + refill) - level
            self.last[axis] = (now, level)
        history = self.history
        history.append((now, tuple(self.served), tuple(self.counted)))
        while len(history) > 2 and now - history[1][0] >= _SPAN * self.window:
            history.popleft()
        _, served, counted = history[0]
        # A key too large to serve a bucket within _HISTORY syncs: a full history will do.
        sample = _SAMPLE if len(history) < _HISTORY else _MIN_SAMPLE
        for axis, bucket in enumerate(self.buckets):
            total = self.served[axis] - served[axis]
            if bucket.limit is not None and total > 0 and total >= sample * bucket.limit:
                ratio = (self.counted[axis] - counted[axis]) / total
                self.share[axis] = min(1.0, max(_MIN_SHARE, ratio))
                self.measured[axis] = True
        self.guess_share(limits[0])

    def guess_share(self, requests: Limit) -> None:
        """Before a bucket of use measures a share: this limiter's requests the server
        has counted over all it has counted since the bucket was last full, that is
        `limit - remaining` at the first response (exact for requests) and what it
        served since. At a cold start that is the best guess there is; it stands for
        every axis not measured yet. No guess from nothing counted (only refusals: a
        share of 0 would starve), none below `_MIN_GUESS` (a late joiner finds the
        bucket low), none with ceilings configured (nor a slow start): that limiter
        starts as its caller set it."""
        limit, remaining, mine = requests.limit, requests.remaining, self.counted[0]
        if not limit or remaining is None or all(self.measured) or self.configured:
            return
        if self.deficit is None:
            self.deficit = float(max(0, limit - remaining)) - self.served[0]
        if mine:
            total = max(mine, self.deficit + self.served[0])
            guess = min(1.0, max(_MIN_GUESS, mine / total))
            for axis in range(len(self.share)):
                if not self.measured[axis]:
                    self.share[axis] = guess

    def starting(self) -> bool:
        """Slow start: with no share measured yet and no ceiling configured, at most
        twice the requests counted so far (one before any) may be unanswered, so
        limiters starting together learn of each other before they spend the key."""
        if self.measured[0] or self.configured:
            return False
        if self.heard and all(b.limit is None for b in self.buckets):
            return False  # answered with no limits: none to learn
        return len(self.unanswered) >= max(1.0, 2 * self.counted[0])


class Limiter:
    """Client-side requests, input-token and output-token budgets, per model class.

    The API limits each model class (`model_class(model)`) with three
    continuously refilling buckets at once (PROTOCOL.md §7); a `Limiter` keeps
    the same buckets per class, learned from each response's headers with no
    configuration: `limit` sizes a bucket, and the requests' `reset` (when the
    bucket is full again) gives the refill rate, so a shortened minute is
    followed (until then: limit/60 a second). Optional ceilings
    (`requests_per_minute=` ...) apply to every class and are never exceeded;
    with them and no headers, a bucket holds the ceiling and refills at a
    sixtieth of it a second, starting full. `None` means unlimited.

    Many processes on one key, no coordinator: each limiter measures its share
    of the key (its requests over the server's count, see docs/http.md) and
    keeps that share of each bucket and of its refill, less a margin while it
    shares. A 429's `retry-after` holds the class. With no ceilings, a class
    starts slow: one request until the first response, then at most twice the
    requests counted unanswered until a share is measured, on a share guessed
    from the first response (see docs/http.md, "The cold start").

    `book()` answers when a request may go and books it then: callers sharing a
    limiter queue up per class in the order they booked (first come, first
    served: a large request is never overtaken by later small ones). Output is
    best booked from `max_tokens`, input from `estimate_input_tokens()`; both
    are corrected by `record_usage()`. A driver:

        r = limiter.book(now, model=model, input_tokens=estimate, output_tokens=max_tokens)
        sleep(r.wait); send ...; limiter.update(now, head.rate_limits, model=model, wall=wall)
        limiter.record_usage(now, r, input_tokens=..., output_tokens=...)  # always

    Not locked: share one across threads only under a lock (trio tasks need
    none: no call blocks).
    """

    def __init__(
        self,
        *,
        requests_per_minute: float | None = None,
        input_tokens_per_minute: float | None = None,
        output_tokens_per_minute: float | None = None,
        max_hold: float = 60.0,
    ) -> None:
        limits = (requests_per_minute, input_tokens_per_minute, output_tokens_per_minute)
        for kind, value in zip(_KINDS, limits, strict=True):
            if value is not None and not 0 < value < math.inf:
                raise InvalidParameterError(f"{kind}_per_minute", "must be None or positive")
        if not 0 <= max_hold <= math.inf:
            raise InvalidParameterError("max_hold", "must be a number >= 0")
        self.max_hold = max_hold
        self._ceilings = limits
        self._classes: dict[str, _Class] = {}

    def __repr__(self) -> str:
        kinds = list(zip(_KINDS, self._ceilings, strict=True))
        parts = [f"{kind}_per_minute={value!r}" for kind, value in kinds]
        shown = list(self._classes.items())[-_REPR_CLASSES:]  # the most recently used
        for name, c in shown:
            sizes = ", ".join(f"{k}={b.capacity!r}" for k, b in zip(_KINDS, c.buckets, strict=True))
            label = name if len(name) <= 40 else name[:40] + "..."
            parts.append(f"{label or 'default'}: ({sizes}, window={c.window:.3g}s)")
        if len(self._classes) > len(shown):
            parts.append(f"{len(self._classes) - len(shown)} more classes")
        return f"Limiter({', '.join(parts)})"

    def _class(self, model: str | None) -> _Class:
        """`model`'s class, most recently used now; past `_MAX_CLASSES` the least
        recently used is forgotten (its bookings settle harmlessly)."""
        if model is not None and not isinstance(model, str):
            raise InvalidParameterError(
                "model", f"must be a str or None, not {type(model).__name__}"
            )
        name = "" if model is None else class_key(model)
        found = self._classes.get(name)
        if found is None:
            found = _Class(self._ceilings)
        keep_recent(self._classes, name, found)
        return found

    def available(self, now: float, *, model: str | None = None) -> dict[str, float]:
        """What each limited bucket of `model`'s class holds at `now`, net of every
        booking (may be negative)."""
        now = _time("now", now)
        buckets = zip(_KINDS, self._class(model).buckets, strict=True)
        return {k: b.level(now) for k, b in buckets if b.capacity is not None}

    def reserve(
        self, now: float, *, model: str | None = None, input_tokens: int = 0, output_tokens: int = 0
    ) -> float:
        """Book a request and return the seconds to wait (from `now`) before sending it.

        A class starting slow may book nothing and ask for a short wait; `book()`
        tells the two apart (`Reservation.booked`)."""
        return self.book(
            now, model=model, input_tokens=input_tokens, output_tokens=output_tokens
        ).wait

    def book(
        self, now: float, *, model: str | None = None, input_tokens: int = 0, output_tokens: int = 0
    ) -> Reservation:
        """`reserve()`, returning the `Reservation` that `record_usage()` settles.

        Not `booked` (a class starting slow): book again at its `send_at`."""
        now = _time("now", now)
        costs = (1, _tokens("input_tokens", input_tokens), _tokens("output_tokens", output_tokens))
        cls = self._class(model)
        if cls.starting():
            return Reservation(_PROBE, now + _PROBE, input_tokens, output_tokens, None)
        send_at = float(max(now, cls.last_send, cls.not_before))
        for bucket, cost in zip(cls.buckets, costs, strict=True):
            if bucket.capacity is not None:
                need = min(cost, bucket.capacity)
                send_at = max(send_at, bucket.tat - (bucket.capacity - need) / bucket.rate)
        for bucket, cost in zip(cls.buckets, costs, strict=True):
            if bucket.capacity is not None and cost:
                bucket.tat = max(bucket.tat, send_at) + cost / bucket.rate
        cls.last_send = send_at
        cls.unsettled_output += costs[2]
        booking = _Booking(send_at, costs, cls, self)
        cls.push(booking)
        return Reservation(send_at - now, send_at, input_tokens, output_tokens, booking)

    def record_usage(
        self, now: float, reservation: Reservation, *, input_tokens: int = 0, output_tokens: int = 0
    ) -> None:
        """Settle a reservation with what the request really used (0, 0 if it failed).

        Count as input what the API counts toward ITPM: for most models
        `input_tokens + cache_creation_input_tokens` (PROTOCOL.md §7).

        Before its `send_at` this cancels the reservation: everything it booked
        is given back. After, the output booking is replaced by the usage (the
        server counts output as it is produced, so a sync keeps every unsettled
        output booking charged), and so is the input booking unless an
        `update()` since the send already took the server's count, which holds
        the input. A reservation is settled once; again raises `LocalProtocolError`.
        """
        now = _time("now", now)
        booking = getattr(reservation, "_booking", None)
        if booking is None and isinstance(reservation, Reservation):
            return  # nothing was booked
        if not isinstance(booking, _Booking) or booking.owner is not self:
            raise InvalidParameterError("reservation", "must be a Reservation from this book()")
        if booking.settled:
            raise LocalProtocolError("this reservation was already settled")
        used = (_tokens("input_tokens", input_tokens), _tokens("output_tokens", output_tokens))
        booking.settled = True
        cls = booking.cls
        cls.unsettled_output -= booking.costs[2]
        inputs, outputs = cls.buckets[1:]
        if now < booking.send_at:
            for bucket, cost in zip(cls.buckets, booking.costs, strict=True):
                bucket.adjust(now, -cost)
            cls.forget(booking)
            return
        cls.forget(booking)
        cls.counted[2] += used[1]
        if booking.counted:
            cls.counted[1] += used[0] - booking.costs[1]
        if booking.send_at > inputs.synced_at:
            inputs.adjust(now, used[0] - booking.costs[1])
        outputs.adjust(now, used[1] - booking.costs[2])

    def update(
        self,
        now: float,
        rate_limits: RateLimits,
        *,
        model: str | None = None,
        wall: float | None = None,
    ) -> None:
        """Re-synchronise `model`'s class with the server's count from a response.

        `wall` is the epoch time at `now` (the driver's clock may be monotonic):
        with it, the requests' `reset` teaches the refill window. For requests,
        input tokens and output tokens: a `limit` sizes the server's bucket,
        and a `remaining` sets this limiter's level at `now` to its share of
        what is left (less the rounding of token counts and the margin), less
        its own bookings the server cannot have counted yet (those going after
        `now`, and the output of unsettled ones). Parts that are `None` change
        nothing; the `tokens` and priority limits are not used. A `retry_after`
        (a 429's) holds the class until `now + min(retry_after, max_hold)`.
        """
        now = _time("now", now)
        wall = None if wall is None else _time("wall", wall)
        if not isinstance(rate_limits, RateLimits):
            raise InvalidParameterError("rate_limits", "must be a RateLimits")
        cls = self._class(model)
        cls.heard = True
        hold = _hold(rate_limits.retry_after)
        cls.answered(now, refused=rate_limits.retry_after is not None)
        limits = tuple(
            _clean(part)
            for part in (rate_limits.requests, rate_limits.input_tokens, rate_limits.output_tokens)
        )
        if wall is not None:
            cls.learn_window(limits[0], wall)
        for bucket, limit in zip(cls.buckets, limits, strict=True):
            if limit.limit is not None and limit.limit > 0:
                bucket.limit = float(limit.limit)
        cls.learn_share(now, limits)
        for index, (bucket, limit) in enumerate(zip(cls.buckets, limits, strict=True)):
            bucket.reshape(now, cls.share[index], cls.window)
            if limit.remaining is not None and bucket.capacity is not None:
                self._sync(now, cls, index, limit.remaining)
        if hold is not None:
            cls.not_before = max(cls.not_before, now + min(hold, self.max_hold))

    @staticmethod
    def _sync(now: float, cls: _Class, index: int, remaining: int) -> None:
        bucket = cls.buckets[index]
        assert bucket.capacity is not None
        size = bucket.limit if bucket.limit is not None else bucket.capacity
        share = cls.share[index]
        margin = _MARGIN * min(1.0, _FADE * (1 - share)) * size
        if index and remaining % 1000 == 0:  # maybe rounded to the nearest thousand
            margin += _ROUNDING
        level = share * (min(size, remaining) - margin)
        ours = cls.unsettled_output if index == 2 else cls.unanswered_costs[index]
        bucket.set_level(now, min(bucket.capacity, level) - ours)
        bucket.synced_at = now
