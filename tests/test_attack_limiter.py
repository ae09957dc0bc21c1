"""The Limiter attacked: hostile `RateLimits`, hostile call sequences, hostile clocks.

Whatever a server's headers, a hand-built `RateLimits` or a caller's arguments say, a
`Limiter` raises only wire's typed errors, never waits an infinite or NaN time, and
keeps bounded state (classes, bookings, history, repr).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import wire
from wire._ratelimit import (
    _MAX_CLASSES,
    _UNANSWERED,
    Limit,
    Limiter,
    RateLimits,
    Reservation,
)

USER = {"role": "user", "content": "Hi"}
HUGE = 10**400  # past float's range and (as text) nothing a header can carry
counts = st.one_of(
    st.none(),
    st.integers(-(10**30), 10**30),
    st.sampled_from([0, 1, 999, 1000, 10**18, 10**19, HUGE, -HUGE]),
)
floats = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -1.0, 1e300, HUGE]),
)
limits_parts = st.builds(Limit, counts, counts, floats)
rate_limits = st.builds(
    RateLimits,
    requests=limits_parts,
    input_tokens=limits_parts,
    output_tokens=limits_parts,
    retry_after=floats,
)
models = st.one_of(
    st.none(),
    st.sampled_from(["claude-opus-4-6", "claude-haiku-4-5", "claude-3-5-haiku-x", "m" * 5000]),
    st.text(max_size=12),
)
bad_times: Any = st.sampled_from([math.nan, math.inf, -math.inf, HUGE, True, "1", None])
tokens = st.integers(0, 10**18)
header_values = st.one_of(
    st.text(max_size=30),
    st.integers(-(10**25), 10**25).map(str),
    st.sampled_from(["9" * 400, "1e400", "nan", "inf", "-5", "9999-12-31T23:59:59Z"]),
    st.sampled_from(["0001-01-01T00:00:00Z", "2025-01-01T00:00:00+23:59", "1970-01-01T00:00:60Z"]),
)
header_names = st.sampled_from(
    [
        f"anthropic-ratelimit-{axis}-{part}"
        for axis in ("requests", "tokens", "input-tokens", "output-tokens")
        for part in ("limit", "remaining", "reset")
    ]
    + ["retry-after", "retry-after-ms"]
)


class LimiterMachine(RuleBasedStateMachine):
    """book / update / record_usage in any order, with any headers and clock readings."""

    def __init__(self) -> None:
        super().__init__()
        self.limiter = Limiter(max_hold=30.0)
        self.now = 1_000.0
        self.open: list[Reservation] = []
        self.settled: list[Reservation] = []

    @rule(step=st.floats(-100.0, 10_000.0))
    def tick(self, step: float) -> None:  # a clock may go backwards too
        self.now += step

    @rule(model=models, input_tokens=tokens, output_tokens=tokens)
    def book(self, model: str | None, input_tokens: int, output_tokens: int) -> None:
        limiter, now = self.limiter, self.now
        r = limiter.book(now, model=model, input_tokens=input_tokens, output_tokens=output_tokens)
        assert math.isfinite(r.wait)
        assert r.wait >= 0.0
        assert math.isfinite(r.send_at)
        assert r.send_at >= now
        self.open.append(r)

    @rule(many=st.integers(1, 2 * _MAX_CLASSES))
    def many_models(self, many: int) -> None:
        for n in range(many):
            self.open.append(self.limiter.book(self.now, model=f"claude-x{n}-{self.now}"))
        del self.open[:-50]  # the test keeps a few; the limiter must not keep them all

    @rule(limits=rate_limits, model=models, skew=st.one_of(st.none(), st.floats(-1e6, 1e6)))
    def update(self, limits: RateLimits, model: str | None, skew: float | None) -> None:
        wall = None if skew is None else 1.7e9 + skew
        self.limiter.update(self.now, limits, model=model, wall=wall)

    @rule(headers=st.dictionaries(header_names, header_values, max_size=8), model=models)
    def update_from_headers(self, headers: dict[str, str], model: str | None) -> None:
        parsed = RateLimits.from_headers(headers, now=1.7e9)
        self.limiter.update(self.now, parsed, model=model, wall=1.7e9)

    @precondition(lambda self: self.open)
    @rule(data=st.data(), used=st.tuples(tokens, tokens))
    def record_usage(self, data: st.DataObject, used: tuple[int, int]) -> None:
        r = self.open.pop(data.draw(st.integers(0, len(self.open) - 1)))
        self.limiter.record_usage(self.now, r, input_tokens=used[0], output_tokens=used[1])
        if r.booked:  # one not booked settles as often as asked, to no effect
            self.settled.append(r)
        del self.settled[:-10]

    @precondition(lambda self: self.settled)
    @rule()
    def record_usage_twice(self) -> None:
        with pytest.raises(wire.LocalProtocolError, match="already settled"):
            self.limiter.record_usage(self.now, self.settled[-1])

    @rule(bad=bad_times, which=st.sampled_from(["book", "update", "wall", "usage", "available"]))
    def hostile_clock(self, bad: Any, which: str) -> None:
        limiter, now = self.limiter, self.now
        reservation = limiter.book(now)
        calls: dict[str, Callable[[], object]] = {
            "book": lambda: limiter.book(bad),
            "update": lambda: limiter.update(bad, RateLimits()),
            "wall": lambda: limiter.update(
                now, RateLimits(), wall=math.nan if bad is None else bad
            ),
            "usage": lambda: limiter.record_usage(bad, reservation),
            "available": lambda: limiter.available(bad),
        }
        with pytest.raises(wire.InvalidParameterError) as caught:
            calls[which]()
        assert caught.value.parameter in ("now", "wall")

    @rule(bad=st.sampled_from([-1, HUGE, 1.5, True, "3", 10**18 + 1]))
    def hostile_tokens(self, bad: Any) -> None:
        with pytest.raises(wire.InvalidParameterError, match="input_tokens"):
            self.limiter.book(self.now, input_tokens=bad)

    @invariant()
    def bounded_and_sane(self) -> None:
        classes = self.limiter._classes
        assert len(classes) <= _MAX_CLASSES
        assert len(repr(self.limiter)) < 2_000
        for name, cls in classes.items():
            assert len(name) <= 256
            assert len(cls.unanswered) <= _UNANSWERED
            # the running sums a sync reads are the queue's own
            assert cls.unanswered_costs == [
                sum(b.costs[i] for b in cls.unanswered) for i in range(3)
            ]
            assert 0.05 <= cls.window <= 86_400.0
            assert all(1 / 64 <= share <= 1.0 for share in cls.share)
            for bucket in cls.buckets:
                assert not math.isnan(bucket.tat)
                if bucket.capacity is not None:
                    assert 0 < bucket.capacity < math.inf
                    assert 0 < bucket.rate < math.inf
        for level in self.limiter.available(self.now).values():
            assert not math.isnan(level)


LimiterMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLimiterMachine = LimiterMachine.TestCase


def test_a_reservation_from_another_limiter_is_refused() -> None:
    mine, theirs = Limiter(), Limiter()
    reservation = theirs.book(0.0, model="claude-opus-4-6")
    with pytest.raises(wire.InvalidParameterError, match="reservation"):
        mine.record_usage(1.0, reservation)
    theirs.record_usage(1.0, reservation)  # still its own limiter's to settle


@given(model=st.text(min_size=1, max_size=50), n=st.integers(_MAX_CLASSES, 2 * _MAX_CLASSES))
@settings(max_examples=10, deadline=None)
def test_a_forgotten_class_settles_quietly(model: str, n: int) -> None:
    limiter = Limiter(requests_per_minute=60)
    first = limiter.book(0.0, model=model)
    for i in range(n):  # `model`'s class is pushed out
        limiter.book(0.0, model=f"other-{i}")
    limiter.record_usage(1.0, first, input_tokens=5, output_tokens=5)
    assert len(limiter._classes) <= _MAX_CLASSES


def test_an_infinite_retry_after_never_makes_an_infinite_wait() -> None:
    limiter = Limiter(max_hold=math.inf)
    limiter.update(0.0, RateLimits(retry_after=math.inf))
    assert limiter.reserve(0.0) == 0.0
    limiter.update(0.0, RateLimits(retry_after=120.0))  # a finite one still holds, uncapped
    assert limiter.reserve(0.0) == 120.0


def test_client_rate_limits_keep_bounded_classes() -> None:
    """`client.rate_limits` (one entry per class called) stays bounded whatever the model ids."""
    import wire.sync
    from wire.testing import serve

    letters = ["".join(chr(97 + int(d)) for d in str(n)) for n in range(_MAX_CLASSES + 4)]
    models = ["claude-" + "y" * 2000, *(f"claude-z{word}" for word in letters)]
    with (
        serve(lenient=True) as server,
        wire.sync.Client("sk-test", base_url=server.base_url, proxy=None) as client,
    ):
        for model in models:
            client.create_message(model=model, max_tokens=1, messages=[USER])
        seen = client.rate_limits
        assert len(seen) == _MAX_CLASSES
        assert all(len(name) <= 256 for name in seen)
        assert "z" + letters[-1] in seen  # the most recent are kept
