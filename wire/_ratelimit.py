"""Rate limits: the API's rate-limit headers as values, and a client-side `Limiter`.

Layer: core (stdlib only, no clock), above `_retry`. Rule: parsing never raises
on what a server sends (a malformed value becomes `None`), and time is an
argument (`now`, epoch seconds), never read. The API applies requests, input
and output tokens per minute at once, each a continuously refilling token
bucket (PROTOCOL.md §7); `Limiter` keeps the same buckets on the client.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

from ._errors import InvalidParameterError, LocalProtocolError
from ._retry import HeadersLike, header_map, retry_after_seconds

__all__ = ["Limit", "Limiter", "RateLimits", "Reservation", "model_class", "parse_rfc3339"]

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


# --- the client-side limiter ------------------------------------------------------------

_KINDS = ("requests", "input_tokens", "output_tokens")


class _Bucket:
    """A continuously refilling bucket kept as GCRA's "theoretical arrival time" `tat`:
    the moment it would be full again, so its level at `t` is
    `capacity - rate * max(0, tat - t)` (negative after an oversized request)."""

    __slots__ = ("capacity", "ceiling", "rate", "synced_at", "tat")

    def __init__(self, per_minute: float | None) -> None:
        # `ceiling`: what the caller configured, which update() never exceeds.
        # `synced_at`: when update() last replaced the count with the server's.
        self.ceiling = self.capacity = None if per_minute is None else float(per_minute)
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

    def resize(self, now: float, limit: int) -> None:
        capacity = float(limit if self.ceiling is None else min(self.ceiling, limit))
        if self.capacity is None:  # an unlimited bucket adopts the server's limit, full
            self.capacity, self.rate, self.synced_at = capacity, capacity / 60, now
        elif capacity != self.capacity:
            level = self.level(now)
            self.capacity, self.rate = capacity, capacity / 60
            self.set_level(now, min(level, capacity))


class _Booking:
    __slots__ = ("costs", "send_at", "settled")

    def __init__(self, send_at: float, costs: tuple[int, int, int]) -> None:
        self.send_at, self.costs, self.settled = send_at, costs, False


@dataclass(frozen=True, slots=True)
class Reservation:
    """A booked request: wait `wait` seconds (until `send_at`) before sending it."""

    wait: float
    send_at: float
    input_tokens: int
    output_tokens: int
    _booking: _Booking = field(repr=False, compare=False)


def _tokens(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidParameterError(name, f"must be an integer >= 0, got {value!r}")
    return value


class Limiter:
    """Client-side requests, input-token and output-token budgets per minute, all at once.

    Each budget is a token bucket as the API keeps it: it holds at most the
    per-minute limit and refills continuously at limit/60 per second, starting
    full; `None` means unlimited. `reserve()` answers how long to wait before a
    request may go and books it at that moment, so callers sharing a limiter
    queue up in the order they reserved (first come, first served: a large
    request is never overtaken forever by small ones). A request larger than a
    bucket waits until that bucket is full, then goes and drives it negative.

    Output tokens are best booked from `max_tokens` (the most a request may
    use) and corrected by `record_usage()` when the response ends. `update()`
    takes the server's count from each response's headers, so every worker
    sharing a key follows it; a 429's `retry-after` holds every reservation
    (at most `max_hold` seconds, as `RetryPolicy` caps its own wait). A driver:

        r = limiter.book(now, input_tokens=estimate, output_tokens=max_tokens)
        sleep(r.wait); send ...; limiter.update(now, head.rate_limits)
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
        self._buckets = tuple(_Bucket(value) for value in limits)
        self._pending: deque[_Booking] = deque()  # booked to go after the last `now` seen
        self._last_send = -math.inf
        self._not_before = -math.inf

    def __repr__(self) -> str:
        caps = ", ".join(f"{k}_per_minute={b.capacity!r}" for k, b in self._named())
        return f"Limiter({caps})"

    def _named(self) -> zip[tuple[str, _Bucket]]:
        return zip(_KINDS, self._buckets, strict=True)

    def _prune(self, now: float) -> None:
        while self._pending and self._pending[0].send_at <= now:
            self._pending.popleft()

    def available(self, now: float) -> dict[str, float]:
        """What each limited bucket holds at `now`, net of every booking (may be negative)."""
        return {k: b.level(now) for k, b in self._named() if b.capacity is not None}

    def reserve(self, now: float, *, input_tokens: int = 0, output_tokens: int = 0) -> float:
        """Book a request and return the seconds to wait (from `now`) before sending it."""
        return self.book(now, input_tokens=input_tokens, output_tokens=output_tokens).wait

    def book(self, now: float, *, input_tokens: int = 0, output_tokens: int = 0) -> Reservation:
        """`reserve()`, returning the `Reservation` that `record_usage()` settles."""
        costs = (1, _tokens("input_tokens", input_tokens), _tokens("output_tokens", output_tokens))
        self._prune(now)
        send_at = float(max(now, self._last_send, self._not_before))
        for bucket, cost in zip(self._buckets, costs, strict=True):
            if bucket.capacity is not None:
                need = min(cost, bucket.capacity)
                send_at = max(send_at, bucket.tat - (bucket.capacity - need) / bucket.rate)
        for bucket, cost in zip(self._buckets, costs, strict=True):
            if bucket.capacity is not None and cost:
                bucket.tat = max(bucket.tat, send_at) + cost / bucket.rate
        self._last_send = send_at
        booking = _Booking(send_at, costs)
        if send_at > now:
            self._pending.append(booking)
        return Reservation(send_at - now, send_at, input_tokens, output_tokens, booking)

    def record_usage(
        self, now: float, reservation: Reservation, *, input_tokens: int = 0, output_tokens: int = 0
    ) -> None:
        """Settle a reservation with what the request really used (0, 0 if it failed).

        Count as input what the API counts toward ITPM: for most models
        `input_tokens + cache_creation_input_tokens` (PROTOCOL.md §7).

        Before its `send_at` this cancels the reservation: everything it booked
        is given back. After, the input and output bookings are replaced by the
        usage, unless an `update()` since the send already replaced the local
        count with the server's: the server then counted the input already and
        counts output as it is produced, so only the output is charged. A
        reservation is settled once; again raises `LocalProtocolError`.
        """
        booking = reservation._booking
        if booking.settled:
            raise LocalProtocolError("this reservation was already settled")
        booking.settled = True
        used = (_tokens("input_tokens", input_tokens), _tokens("output_tokens", output_tokens))
        if now < booking.send_at:
            for bucket, cost in zip(self._buckets, booking.costs, strict=True):
                bucket.adjust(now, -cost)
            booking.costs = (0, 0, 0)
            return
        for bucket, cost, use, is_output in zip(
            self._buckets[1:], booking.costs[1:], used, (False, True), strict=True
        ):
            if booking.send_at > bucket.synced_at:
                bucket.adjust(now, use - cost)
            elif is_output:
                bucket.adjust(now, use)

    def update(self, now: float, rate_limits: RateLimits) -> None:
        """Re-synchronise with the server's count from a response's `RateLimits`.

        For requests, input tokens and output tokens: a `limit` sets the
        bucket's size (never above a limit you configured; an unlimited bucket
        adopts it), a `remaining` sets its level at `now`, less what this
        limiter has booked to go after `now` (the server cannot have seen
        those yet). Parts that are `None` change nothing; the `tokens` and
        priority limits are not used, nor `reset` (it is on the server's clock).
        A `retry_after` (a 429's) holds every reservation until `now +
        min(retry_after, max_hold)`.
        """
        self._prune(now)
        limits = (rate_limits.requests, rate_limits.input_tokens, rate_limits.output_tokens)
        for index, (bucket, limit) in enumerate(zip(self._buckets, limits, strict=True)):
            if limit.limit is not None and limit.limit > 0:
                bucket.resize(now, limit.limit)
            if limit.remaining is not None and bucket.capacity is not None:
                pending = sum(booking.costs[index] for booking in self._pending)
                bucket.set_level(now, min(bucket.capacity, limit.remaining) - pending)
                bucket.synced_at = now
        if rate_limits.retry_after:
            hold = min(rate_limits.retry_after, self.max_hold)
            self._not_before = max(self._not_before, now + hold)
