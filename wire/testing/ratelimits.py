"""The emulator's rate limits, sans-IO: per model class, RPM + ITPM + OTPM at once.

Each model class (`wire.model_class`) has three continuously refilling token
buckets (PROTOCOL.md §7): requests, input tokens and output tokens. A bucket
holds at most its per-minute limit and refills at limit / minute per second,
so a burst can trip it well inside the minute. `RateLimiter.admit(model, now,
...)` books one request and returns the `anthropic-ratelimit-*` headers of its
class, or raises `RateLimited` (with the truthful wait) when `enforce` is on and
a bucket cannot admit it. The time is always passed in; `minute_seconds`
shortens the minute for every window, refill rate and `reset` alike.

What a request needs to be admitted (and what it then takes):

- requests: 1 (takes 1);
- input tokens: its input tokens (`input_tokens + cache_creation_input_tokens`),
  or the whole limit if it is larger, so an oversized request passes once the
  bucket is full instead of never (takes them all, so the bucket may go below 0);
- output tokens: a bucket not in debt (level >= 0). Output counts as produced,
  and the emulator produces a reply whole when it admits it, so the reply's
  `output_tokens` are taken then; the bucket may go below 0 and refuses the
  next request until it has refilled to 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from wire._ratelimit import model_class

__all__ = [
    "DEFAULT_LIMITS",
    "MAX_CLASSES",
    "MAX_MINUTE_SECONDS",
    "TIERS",
    "ClassLimits",
    "RateLimited",
    "RateLimiter",
]


class ClassLimits(NamedTuple):
    """One model class' limits per minute: requests, input tokens, output tokens."""

    requests: int
    input_tokens: int
    output_tokens: int


# Usage tiers 1-4 from the public rate-limits page (docs.anthropic.com/en/api/rate-limits,
# read as copied on 2026-05-22 and 2026-06-20; docs/emulator.md cites it). The docs give every
# class the same RPM; issue 16 has Opus carry the lower one, so Opus gets half the docs' RPM
# (one secondary source lists Opus at 500 RPM at Tier 2). `None` is any class not listed.
TIERS: dict[int, dict[str | None, ClassLimits]] = {
    1: {
        "opus-4": ClassLimits(25, 30_000, 8_000),
        "sonnet-4": ClassLimits(50, 30_000, 8_000),
        "haiku-4": ClassLimits(50, 50_000, 10_000),
        None: ClassLimits(50, 30_000, 8_000),
    },
    2: {
        "opus-4": ClassLimits(500, 450_000, 90_000),
        "sonnet-4": ClassLimits(1_000, 450_000, 90_000),
        "haiku-4": ClassLimits(1_000, 450_000, 90_000),
        None: ClassLimits(1_000, 450_000, 90_000),
    },
    3: {
        "opus-4": ClassLimits(1_000, 800_000, 160_000),
        "sonnet-4": ClassLimits(2_000, 800_000, 160_000),
        "haiku-4": ClassLimits(2_000, 1_000_000, 200_000),
        None: ClassLimits(2_000, 800_000, 160_000),
    },
    4: {
        "opus-4": ClassLimits(2_000, 2_000_000, 400_000),
        "sonnet-4": ClassLimits(4_000, 2_000_000, 400_000),
        "haiku-4": ClassLimits(4_000, 4_000_000, 800_000),
        None: ClassLimits(4_000, 2_000_000, 400_000),
    },
}
# Without a tier every class gets these (the emulator's limits before tiers existed).
DEFAULT_LIMITS = ClassLimits(1_000, 80_000, 16_000)
# Classes with state kept at once: in lenient mode any `claude-*` id makes a class. Past it,
# classes whose buckets are full again are forgotten (a full bucket is a fresh one), then
# the least recently used.
MAX_CLASSES = 256
# Float slack. A request up to `_EARLY` seconds early is admitted, so one sent exactly when
# `retry-after` or `reset` says passes despite rounding (an epoch time's float step is 0.24 µs);
# a level within `_SLACK` tokens below a whole number is reported as that number.
_EARLY = 1e-6
_SLACK = 1e-3
# The longest minute (as `wire serve --minute-seconds` takes it): past it a far-off reset or
# wait would leave float's range. A reset past the year 9999 is written as its last second.
MAX_MINUTE_SECONDS = 1e6
_LAST_SECOND = 253_402_300_799.0  # 9999-12-31T23:59:59Z
_AXES = ("requests", "input-tokens", "output-tokens")
_NAMES = {"requests": "requests", "input-tokens": "input tokens", "output-tokens": "output tokens"}
Headers = list[tuple[str, str]]


class RateLimited(Exception):
    """A request a bucket cannot admit: which limit, its size, the wait in seconds, and the
    rate-limit headers of the request's class as they stand (nothing was booked)."""

    def __init__(
        self, axis: str, limit: int, model_class: str, wait: float, headers: Headers
    ) -> None:
        self.axis, self.limit, self.model_class = axis, limit, model_class
        self.wait, self.headers = wait, headers
        super().__init__(
            f"This request would exceed the rate limit of {limit:,} {_NAMES[axis]} per minute "
            f"for {model_class} models; see the anthropic-ratelimit-* response headers for "
            "current usage and try again later."
        )


@dataclass
class _Bucket:
    """A token bucket: `level` at time `at`, refilling `capacity` per `minute` seconds."""

    capacity: int
    minute: float
    level: float
    at: float

    def refill(self, now: float) -> float:
        """Bring the level to `now` (never above the capacity; time never runs backwards)."""
        if now > self.at:
            gained = (now - self.at) * self.capacity / self.minute
            self.level, self.at = min(float(self.capacity), self.level + gained), now
        return self.level

    def wait(self, need: float) -> float:
        """Seconds until the level reaches `need`; 0 if it has (within `_EARLY`)."""
        wait = (need - self.level) * self.minute / self.capacity
        return wait if wait > _EARLY else 0.0

    def full_at(self) -> float:
        return self.at + max(0.0, self.capacity - self.level) * self.minute / self.capacity


class RateLimiter:
    """Per-class buckets for the emulator (see the module docstring for the rules).

    Limits, most specific first: `limits[class]` (a `(rpm, itpm, otpm)` triple), then the
    `requests_per_minute`/`input_tokens_per_minute`/`output_tokens_per_minute` overrides
    (every class), then the `tier` table (its `None` row for classes not listed), then
    `DEFAULT_LIMITS`. Every limit is a positive integer.
    """

    def __init__(
        self,
        *,
        tier: int | None = None,
        requests_per_minute: int | None = None,
        input_tokens_per_minute: int | None = None,
        output_tokens_per_minute: int | None = None,
        limits: dict[str, tuple[int, int, int]] | None = None,
        minute_seconds: float = 60.0,
        enforce: bool = False,
    ) -> None:
        if tier is not None and tier not in TIERS:
            raise ValueError(f"tier: must be one of {sorted(TIERS)}, not {tier!r}")
        if isinstance(minute_seconds, bool) or not isinstance(minute_seconds, int | float):
            raise ValueError("minute_seconds: must be a number of seconds")
        if not 0 < minute_seconds <= MAX_MINUTE_SECONDS:
            raise ValueError(f"minute_seconds: must be positive, at most {MAX_MINUTE_SECONDS:g}")
        self.tier = tier
        self.minute_seconds = float(minute_seconds)
        self.enforce = enforce
        self._overrides = (requests_per_minute, input_tokens_per_minute, output_tokens_per_minute)
        for name, triple in (limits or {}).items():
            if not isinstance(triple, tuple | list) or len(triple) != 3:
                raise ValueError(f"limits[{name!r}]: must be (rpm, itpm, otpm), not {triple!r}")
        self._limits = {name: ClassLimits(*triple) for name, triple in (limits or {}).items()}
        for value in (*self._overrides, *(n for t in self._limits.values() for n in t)):
            if value is not None and (type(value) is not int or value < 1):
                raise ValueError(f"rate limits must be positive integers, not {value!r}")
        self._classes: dict[str, dict[str, _Bucket]] = {}

    def limits_for(self, name: str) -> ClassLimits:
        """The limits of model class `name`."""
        if name in self._limits:
            return self._limits[name]
        if self.tier is None:
            base = DEFAULT_LIMITS
        else:
            table = TIERS[self.tier]
            base = table.get(name, table[None])
        pairs = zip(self._overrides, base, strict=True)
        return ClassLimits(*(override if override is not None else b for override, b in pairs))

    def admit(self, model: str, now: float, *, input_tokens: int, output_tokens: int) -> Headers:
        """Book one request of `model` at `now`; its class' headers after booking.

        Raises `RateLimited` if limits are enforced and a bucket cannot admit the request
        (nothing is booked then).
        """
        name = model_class(model)
        buckets = self._buckets(name, now)
        if self.enforce:
            needs = {
                "requests": 1.0,
                "input-tokens": float(min(input_tokens, buckets["input-tokens"].capacity)),
                "output-tokens": 0.0,
            }
            waits = {axis: buckets[axis].wait(needs[axis]) for axis in _AXES}
            axis = max(_AXES, key=lambda a: waits[a])  # the limit that binds longest
            if waits[axis] > 0:
                limit = buckets[axis].capacity
                raise RateLimited(axis, limit, name, waits[axis], self._headers(buckets))
        takes = {"requests": 1, "input-tokens": input_tokens, "output-tokens": output_tokens}
        for axis in _AXES:
            buckets[axis].level -= takes[axis]
        return self._headers(buckets)

    def _buckets(self, name: str, now: float) -> dict[str, _Bucket]:
        """The buckets of class `name`, brought to `now` (made full the first time)."""
        buckets = self._classes.pop(name, None)  # re-inserted last: most recently used
        if buckets is None:
            if len(self._classes) >= MAX_CLASSES:
                self._forget(now)
            limits = self.limits_for(name)
            buckets = {
                axis: _Bucket(limit, self.minute_seconds, float(limit), now)
                for axis, limit in zip(_AXES, limits, strict=True)
            }
        self._classes[name] = buckets
        for bucket in buckets.values():
            bucket.refill(now)
        return buckets

    def _forget(self, now: float) -> None:
        """Make room for one class: drop the full ones, else the least recently used."""
        for name in [n for n, b in self._classes.items() if _full(b, now)]:
            del self._classes[name]
        if len(self._classes) >= MAX_CLASSES:
            del self._classes[next(iter(self._classes))]

    def _headers(self, buckets: dict[str, _Bucket]) -> Headers:
        headers = []
        for axis in _AXES:
            bucket = buckets[axis]
            remaining = _remaining(bucket.level, bucket.capacity, tokens=axis != "requests")
            headers += [
                (f"anthropic-ratelimit-{axis}-limit", str(bucket.capacity)),
                (f"anthropic-ratelimit-{axis}-remaining", str(remaining)),
                (f"anthropic-ratelimit-{axis}-reset", self._time(bucket.full_at())),
            ]
        inputs, outputs = buckets["input-tokens"], buckets["output-tokens"]
        limit = inputs.capacity + outputs.capacity
        left = max(0.0, inputs.level) + max(0.0, outputs.level)
        reset = max(inputs.full_at(), outputs.full_at())
        headers += [
            ("anthropic-ratelimit-tokens-limit", str(limit)),
            ("anthropic-ratelimit-tokens-remaining", str(_remaining(left, limit, tokens=True))),
            ("anthropic-ratelimit-tokens-reset", self._time(reset)),
        ]
        return headers

    def _time(self, t: float) -> str:
        """RFC 3339, rounded up: whole seconds for a 60 s minute, else milliseconds.

        Clamped to the years 1970-9999 (a bucket deep in debt may be full only later)."""
        micros = round(min(max(t, 0.0), _LAST_SECOND) * 1_000_000)
        if self.minute_seconds == 60.0:
            seconds = -(-micros // 1_000_000)
            return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        ms = -(-micros // 1000)
        stamp = datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{stamp}.{ms % 1000:03d}Z"


def _full(buckets: dict[str, _Bucket], now: float) -> bool:
    return all(b.refill(now) >= b.capacity for b in buckets.values())


def _remaining(level: float, limit: int, *, tokens: bool) -> int:
    """What is left as reported: whole units, never below 0 nor above the limit; token counts
    of 1,000 and more rounded to the nearest thousand (as the API rounds them), smaller ones
    exact, so a nearly empty bucket never reads as empty while it is not."""
    left = max(0, math.floor(level + _SLACK))
    if tokens and left >= 1000:
        left = (left + 500) // 1000 * 1000
    return min(limit, left)
