"""wire._ratelimit: rate-limit headers as values, and the client-side Limiter on a fake clock."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import wire
from wire._call import Connect, Session, Sleep
from wire._ratelimit import Limit, Limiter, RateLimits, Reservation, parse_rfc3339
from wire.testing.replies import count_tokens

CAPTURED = """\
anthropic-ratelimit-requests-limit: 1000
anthropic-ratelimit-requests-remaining: 999
anthropic-ratelimit-requests-reset: 2025-08-21T12:40:59Z
anthropic-ratelimit-input-tokens-limit: 80000
anthropic-ratelimit-output-tokens-limit: 16000
anthropic-ratelimit-tokens-limit: 96000
"""
RESET = datetime(2025, 8, 21, 12, 40, 59, tzinfo=UTC).timestamp()
NOW = datetime(2025, 8, 21, 12, 40, 0, tzinfo=UTC).timestamp()


def pairs(text: str) -> list[tuple[str, str]]:
    split = (line.partition(": ") for line in text.splitlines())
    return [(name, value) for name, _, value in split]


# --- RateLimits.from_headers --------------------------------------------------------------


def test_captured_example() -> None:
    limits = RateLimits.from_headers(pairs(CAPTURED))
    assert limits.requests == Limit(1000, 999, RESET)
    assert limits.input_tokens == Limit(80000, None, None)
    assert limits.output_tokens == Limit(16000, None, None)
    assert limits.tokens == Limit(96000, None, None)
    assert limits.priority_input_tokens == Limit() == limits.priority_output_tokens
    assert limits.retry_after is None
    assert limits.extra == {}


def test_every_header_family() -> None:
    headers = {
        "anthropic-ratelimit-tokens-remaining": "95000",
        "anthropic-ratelimit-tokens-reset": "2025-08-21T12:41:00.5Z",
        "anthropic-ratelimit-input-tokens-remaining": "79000",
        "anthropic-ratelimit-input-tokens-reset": "2025-08-21T12:40:01Z",
        "anthropic-ratelimit-output-tokens-remaining": "15000",
        "anthropic-ratelimit-output-tokens-reset": "2025-08-21T12:40:02Z",
        "anthropic-priority-input-tokens-limit": "500000",
        "anthropic-priority-input-tokens-remaining": "499000",
        "anthropic-priority-input-tokens-reset": "2025-08-21T12:40:03Z",
        "anthropic-priority-output-tokens-limit": "100000",
        "anthropic-priority-output-tokens-remaining": "99000",
        "anthropic-priority-output-tokens-reset": "2025-08-21T12:40:04Z",
        "anthropic-fast-input-tokens-limit": "40000",
        "anthropic-ratelimit-unified-status": "allowed",
        "anthropic-ratelimit-requests-window": "60",
        "anthropic-organization-id": "org-1",
        "content-type": "application/json",
        "retry-after": "7",
    }
    limits = RateLimits.from_headers(headers)
    assert limits.tokens == Limit(None, 95000, NOW + 60.5)
    assert limits.input_tokens == Limit(None, 79000, NOW + 1)
    assert limits.output_tokens == Limit(None, 15000, NOW + 2)
    assert limits.priority_input_tokens == Limit(500000, 499000, NOW + 3)
    assert limits.priority_output_tokens == Limit(100000, 99000, NOW + 4)
    assert limits.requests == Limit()
    assert limits.retry_after == 7.0
    assert dict(limits.extra) == {
        "anthropic-fast-input-tokens-limit": "40000",
        "anthropic-ratelimit-unified-status": "allowed",
        "anthropic-ratelimit-requests-window": "60",
    }


def test_names_are_case_insensitive_in_every_container() -> None:
    text = CAPTURED.replace("anthropic-ratelimit-requests", "Anthropic-RateLimit-Requests")
    expected = RateLimits.from_headers(pairs(CAPTURED))
    assert RateLimits.from_headers(pairs(text)) == expected
    assert RateLimits.from_headers(dict(pairs(text.upper().replace("T12", "t12")))) == expected
    raw = [(n.encode(), v.encode()) for n, v in pairs(text)]
    assert RateLimits.from_headers(raw) == expected
    assert RateLimits.from_headers({"ANTHROPIC-FAST-X": "1"}).extra == {"anthropic-fast-x": "1"}


@pytest.mark.parametrize(
    "value",
    [
        "",
        "abc",
        "-1",
        "+5",
        "1.5",
        "1e3",
        "1,000",
        "1 000",
        "0x10",
        "\uff11\uff12",
        "\u0663",
        "9" * 19,
        "9" * 5000,
        "NaN",
        "inf",
    ],
)
def test_malformed_counts_are_none(value: str) -> None:
    limits = RateLimits.from_headers(
        {
            "anthropic-ratelimit-requests-limit": value,
            "anthropic-ratelimit-requests-remaining": value,
            "anthropic-ratelimit-input-tokens-limit": "80000",
        }
    )
    assert limits.requests == Limit(None, None, None)
    assert limits.input_tokens.limit == 80000


def test_counts_allow_surrounding_whitespace_and_zero() -> None:
    limits = RateLimits.from_headers([("anthropic-ratelimit-requests-remaining", " 0 ")])
    assert limits.requests.remaining == 0


@pytest.mark.parametrize(
    "value",
    [
        "",
        "soon",
        "2025-08-21",
        "12:40:59",
        "2025-08-21T12:40:59",
        "2025-13-21T12:40:59Z",
        "2025-02-30T12:40:59Z",
        "2025-08-21T24:00:00Z",
        "2025-08-21T12:60:00Z",
        "2025-08-21T12:40:61Z",
        "2025-08-21T12:40:59+24:00",
        "2025-08-21T12:40:59+01:60",
        "2025-08-21T12:40:59.Z",
        "2025-08-21T12:40:59+0100",
        "0000-01-01T00:00:00Z",
        "1755780059",
        "Thu, 21 Aug 2025 12:40:59 GMT",
        "\uff12\uff10\uff12\uff15-08-21T12:40:59Z",
    ],
)
def test_malformed_resets_are_none(value: str) -> None:
    limits = RateLimits.from_headers({"anthropic-ratelimit-requests-reset": value})
    assert limits.requests == Limit()
    assert parse_rfc3339(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-08-21T12:40:59Z", RESET),
        ("2025-08-21t12:40:59z", RESET),
        ("2025-08-21 12:40:59Z", RESET),
        ("2025-08-21T12:40:59.250Z", RESET + 0.25),
        ("2025-08-21T12:40:59.123456789Z", RESET + 0.123456789),
        ("2025-08-21T14:40:59+02:00", RESET),
        ("2025-08-21T07:10:59-05:30", RESET),
        ("2025-08-21T12:40:59-00:00", RESET),
        ("2016-12-31T23:59:60Z", datetime(2017, 1, 1, tzinfo=UTC).timestamp()),
    ],
)
def test_rfc3339_forms(value: str, expected: float) -> None:
    assert parse_rfc3339(value) == pytest.approx(expected, abs=1e-6)


@given(
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.integers(-23 * 60 - 59, 23 * 60 + 59).map(
            lambda m: timezone(timedelta(minutes=m))
        ),
    )
)
def test_rfc3339_round_trip(moment: datetime) -> None:
    assert parse_rfc3339(moment.isoformat()) == pytest.approx(moment.timestamp(), abs=1e-5)


def test_retry_after_forms() -> None:
    assert RateLimits.from_headers({"retry-after": "3"}).retry_after == 3.0
    assert RateLimits.from_headers({"Retry-After": "0"}).retry_after == 0.0
    assert RateLimits.from_headers({"retry-after-ms": "1500"}).retry_after == 1.5
    date = {"retry-after": "Thu, 21 Aug 2025 12:40:30 GMT"}
    assert RateLimits.from_headers(date).retry_after is None
    assert RateLimits.from_headers(date, now=NOW).retry_after == 30.0
    assert RateLimits.from_headers(date, now=NOW + 60).retry_after == 0.0
    for garbage in ("soon", "-3", "inf", ""):
        assert RateLimits.from_headers({"retry-after": garbage}, now=NOW).retry_after is None


def test_defaults_and_immutability() -> None:
    empty = RateLimits.from_headers([])
    assert empty == RateLimits() == RateLimits.from_headers(None)
    assert empty.requests == Limit(None, None, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        empty.retry_after = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        RateLimits.from_headers({"anthropic-fast-x": "1"}).extra["y"] = "2"  # type: ignore[index]


header_names = st.sampled_from(
    [
        f"{family}-{part}"
        for family in (
            "anthropic-ratelimit-requests",
            "anthropic-ratelimit-tokens",
            "Anthropic-Ratelimit-Input-Tokens",
            "anthropic-ratelimit-output-tokens",
            "anthropic-priority-input-tokens",
            "anthropic-fast-output-tokens",
            "anthropic-ratelimit",
        )
        for part in ("limit", "remaining", "reset", "other", "")
    ]
    + ["retry-after", "retry-after-ms"]
)


@given(
    st.lists(st.tuples(st.one_of(header_names, st.text(max_size=30)), st.text(max_size=60))),
    st.one_of(st.none(), st.floats(allow_nan=False)),
)
def test_from_headers_never_raises(headers: list[tuple[str, str]], now: float | None) -> None:
    limits = RateLimits.from_headers(headers, now=now)
    assert limits.retry_after is None or limits.retry_after >= 0


# --- Limiter: single buckets ----------------------------------------------------------------


def test_rpm_bursts_then_waits() -> None:
    limiter = Limiter(requests_per_minute=60)
    assert [limiter.reserve(0.0) for _ in range(60)] == [0.0] * 60
    assert limiter.reserve(0.0) == 1.0
    assert limiter.reserve(0.0) == 2.0
    assert limiter.reserve(0.5) == 2.5  # asked later: the queue is 3 s long from 0


def test_refill_over_time() -> None:
    limiter = Limiter(requests_per_minute=60)
    for _ in range(60):
        limiter.reserve(100.0)
    assert limiter.available(130.0) == {"requests": 30.0}
    assert [limiter.reserve(130.0) for _ in range(30)] == [0.0] * 30
    assert limiter.reserve(130.0) == 1.0
    assert limiter.available(1000.0) == {"requests": 60.0}  # never more than full


def test_unlimited_limiter_never_waits() -> None:
    limiter = Limiter()
    first = limiter.book(0.0)
    limiter.update(0.0, RateLimits())  # answered, and the server names no limit
    limiter.record_usage(0.0, first)
    assert {limiter.reserve(0.0, input_tokens=10**9, output_tokens=10**9) for _ in range(99)} == {0}
    assert limiter.available(0.0) == {}


def test_tokens_of_an_unlimited_kind_are_ignored() -> None:
    limiter = Limiter(requests_per_minute=600)
    assert limiter.reserve(0.0, input_tokens=10**9) == 0.0
    assert limiter.reserve(0.0, output_tokens=10**9) == 0.0


def test_concurrent_reservations_queue_up() -> None:
    limiter = Limiter(input_tokens_per_minute=6000)  # 100 tokens a second
    assert limiter.reserve(0.0, input_tokens=6000) == 0.0
    first = limiter.reserve(0.0, input_tokens=1000)
    second = limiter.reserve(0.0, input_tokens=500)
    assert (first, second) == (10.0, 15.0)
    # A small request asked for later still queues behind the earlier ones.
    assert limiter.reserve(1.0, input_tokens=1) == pytest.approx(14.01)


def test_large_requests_are_not_overtaken() -> None:
    limiter = Limiter(output_tokens_per_minute=600)  # 10 a second
    limiter.reserve(0.0, output_tokens=600)
    big = limiter.book(0.0, output_tokens=600)
    small = limiter.book(0.0, output_tokens=1)
    assert big.wait == 60.0
    assert small.send_at >= big.send_at


def test_oversized_request_waits_for_a_full_bucket_then_goes() -> None:
    limiter = Limiter(input_tokens_per_minute=6000)
    assert limiter.reserve(0.0, input_tokens=10_000) == 0.0  # full: goes at once
    assert limiter.available(0.0) == {"input_tokens": -4000.0}
    assert limiter.reserve(0.0, input_tokens=100) == 41.0  # back to +100 takes 4100 / 100 s
    limiter = Limiter(input_tokens_per_minute=6000)
    limiter.reserve(0.0, input_tokens=100)
    assert limiter.reserve(0.0, input_tokens=10**6) == 1.0  # waits only until full again


# --- Limiter: several buckets at once -------------------------------------------------------


def test_itpm_and_otpm_together_most_restrictive_wins() -> None:
    limiter = Limiter(
        requests_per_minute=1000, input_tokens_per_minute=6000, output_tokens_per_minute=600
    )
    assert limiter.reserve(0.0, input_tokens=6000, output_tokens=600) == 0.0
    # Input needs 1 s to refill 100 tokens, output 10 s: output decides.
    assert limiter.reserve(0.0, input_tokens=100, output_tokens=100) == 10.0
    # Now input is the tight one: at 10 s it holds 1000 - 100; 3000 needs 21 s more.
    assert limiter.reserve(0.0, input_tokens=3000, output_tokens=1) == 31.0


def test_requests_bucket_limits_tiny_requests() -> None:
    limiter = Limiter(requests_per_minute=2, input_tokens_per_minute=10**6)
    waits = [limiter.reserve(0.0, input_tokens=1) for _ in range(4)]
    assert waits == [0.0, 0.0, 30.0, 60.0]


# --- Limiter.update -------------------------------------------------------------------------


def limits(
    requests: Limit | None = None,
    input_tokens: Limit | None = None,
    output_tokens: Limit | None = None,
    retry_after: float | None = None,
) -> RateLimits:
    return RateLimits(
        requests=requests or Limit(),
        input_tokens=input_tokens or Limit(),
        output_tokens=output_tokens or Limit(),
        retry_after=retry_after,
    )


def test_update_follows_the_servers_remaining() -> None:
    limiter = Limiter(requests_per_minute=60)
    limiter.update(10.0, limits(Limit(60, 0)))  # other workers used it all
    assert limiter.reserve(10.0) == 1.0
    limiter = Limiter(requests_per_minute=60)
    for _ in range(60):
        limiter.reserve(0.0)
    limiter.update(0.0, limits(Limit(None, 60)))  # the server counts none of ours
    assert limiter.reserve(0.0) == 0.0


def test_update_from_headers() -> None:
    limiter = Limiter()
    limiter.update(NOW, RateLimits.from_headers(pairs(CAPTURED)))
    assert limiter.available(NOW) == pytest.approx(
        {"requests": 999.0, "input_tokens": 80000.0, "output_tokens": 16000.0}, abs=1e-3
    )
    assert "default: (requests=1000.0, " in repr(limiter)


def test_update_resizes_but_never_above_the_configured_limit() -> None:
    limiter = Limiter(requests_per_minute=100)
    limiter.update(0.0, limits(Limit(60, None)))
    assert limiter.available(0.0) == {"requests": 60.0}
    for _ in range(60):
        limiter.reserve(0.0)
    assert limiter.reserve(0.0) == 1.0  # refill is 60 a minute now
    limiter = Limiter(requests_per_minute=60)
    limiter.update(0.0, limits(Limit(1000, 1000)))
    assert limiter.available(0.0) == {"requests": 60.0}


def test_an_unlimited_bucket_adopts_the_servers_limit() -> None:
    limiter = Limiter()
    limiter.update(0.0, limits(output_tokens=Limit(600, 1)))
    assert limiter.reserve(0.0, output_tokens=100) == pytest.approx(9.9)
    # A remaining without any limit gives no rate: it is ignored.
    limiter.update(0.0, limits(input_tokens=Limit(None, 0)))
    assert "input_tokens_per_minute=None" in repr(limiter)


def test_update_ignores_none_and_non_positive_limits() -> None:
    limiter = Limiter(requests_per_minute=60)
    limiter.reserve(0.0)
    limiter.update(0.0, limits(Limit(None, None, 123.0)))
    limiter.update(0.0, limits(Limit(0, None)))
    assert limiter.available(0.0) == {"requests": 59.0}


def test_update_keeps_bookings_no_response_has_answered() -> None:
    # The server cannot have counted a request still in flight, nor one not yet sent:
    # each response answers the oldest booking, the others stay charged.
    limiter = Limiter(requests_per_minute=60)
    for _ in range(62):
        limiter.reserve(0.0)  # the last two go at 1 s and 2 s
    limiter.update(0.5, limits(Limit(60, 60)))
    assert limiter.available(0.5) == {"requests": -1.0}  # 61 of ours in flight or booked
    for _ in range(59):
        limiter.update(0.5, limits(Limit(60, 60)))
    assert limiter.available(0.5) == {"requests": 58.0}  # the two not sent yet
    limiter.update(0.5, limits(Limit(60, 60)))  # a response cannot answer a request not sent
    assert limiter.available(0.5) == {"requests": 58.0}
    limiter.update(1.5, limits(Limit(60, 60)))  # the one at 1 s is sent and answered
    assert limiter.available(1.5) == {"requests": 59.0}


def test_retry_after_holds_every_reservation() -> None:
    limiter = Limiter(requests_per_minute=600)
    limiter.update(10.0, limits(retry_after=5.0))
    assert limiter.reserve(10.0) == 5.0
    assert limiter.reserve(12.0) == 3.0
    assert limiter.reserve(20.0) == 0.0
    Limiter().update(0.0, limits(retry_after=0.0))


def test_the_hold_is_capped() -> None:
    limiter = Limiter()
    limiter.update(0.0, limits(retry_after=3600.0))
    assert limiter.reserve(0.0) == 60.0
    limiter = Limiter(max_hold=5)
    limiter.update(0.0, limits(retry_after=30.0))
    assert limiter.reserve(1.0) == 4.0
    limiter = Limiter(max_hold=math.inf)
    limiter.update(0.0, limits(retry_after=3600.0))
    assert limiter.reserve(0.0) == 3600.0
    with pytest.raises(wire.InvalidParameterError, match="max_hold"):
        Limiter(max_hold=-1)


# --- the cold start: many limiters starting at once on one key ---------------------------------

OPUS = "claude-opus-4-6"


def test_a_class_never_heard_from_sends_one_request_first() -> None:
    limiter = Limiter()
    first = limiter.book(0.0, model=OPUS)
    assert first.booked
    assert first.wait == 0.0
    again = limiter.book(0.0, model=OPUS)  # the first is unanswered: ask again shortly
    assert not again.booked
    assert (again.wait, again.send_at) == (0.05, 0.05)
    assert limiter.book(0.0, model="claude-haiku-4-5").booked  # each class its own first
    for _ in range(2):  # nothing was booked: settling it does nothing, however often
        limiter.record_usage(0.0, again)
    limiter.record_usage(0.0, first)  # failed unanswered (no connection): the next goes
    assert limiter.book(0.0, model=OPUS).booked


def test_slow_start_twice_the_requests_counted_may_be_unanswered() -> None:
    limiter = Limiter()
    first = limiter.book(0.0, model=OPUS)
    limiter.update(0.01, limits(Limit(25, 24)), model=OPUS)  # counted, and alone so far
    limiter.record_usage(0.01, first)
    booked = [limiter.book(0.01, model=OPUS).booked for _ in range(3)]
    assert booked == [True, True, False]
    limiter.update(0.02, limits(Limit(25, 23)), model=OPUS)
    assert [limiter.book(0.02, model=OPUS).booked for _ in range(4)] == [True, True, True, False]


def test_the_first_response_guesses_the_share_from_everyones_count() -> None:
    limiter = Limiter()
    limiter.book(0.0, model=OPUS)
    # 8 of the 25 requests counted, one of them ours: an eighth of the key is ours
    tokens = Limit(30_000, 22_000)
    limiter.update(0.01, limits(Limit(25, 17), tokens), model=OPUS)
    margin = 0.3  # of the bucket, whole for a share up to 3/4
    assert limiter.available(0.01, model=OPUS) == pytest.approx(
        {"requests": (17 - margin * 25) / 8, "input_tokens": (22_000 - margin * 30_000 - 500) / 8}
    )


def test_a_refused_first_response_guesses_nothing() -> None:
    """Nothing of ours counted: a share of 0 (1/64) would starve this limiter for minutes."""
    limiter = Limiter()
    limiter.book(0.0, model=OPUS)
    limiter.update(0.01, limits(Limit(25, 0), retry_after=0.2), model=OPUS)
    # a request's refill at the whole key's rate (60 s until a reset teaches the window),
    # not at 1/64 of it (154 s)
    assert limiter.reserve(0.01, model=OPUS) == pytest.approx(60 / 25)


def test_a_key_too_large_to_serve_a_bucket_is_measured_on_a_full_history() -> None:
    """4,000 requests a minute: 64 syncs never see a whole bucket served, but 5% of one."""
    limiter = Limiter()
    cls = None
    for step in range(80):
        now = 0.06 * step  # 4 requests refilled between syncs (60 s until a reset teaches)
        booked = limiter.book(now, model=OPUS)
        limiter.update(now, limits(Limit(4000, 3000)), model=OPUS)  # 4 served: 1 ours
        limiter.record_usage(now, booked)
        cls = limiter._classes["opus-4"]
        assert cls.measured[0] == (step >= 63), step  # the 64th sync fills the history
    assert cls is not None
    assert cls.share[0] == pytest.approx(0.25)


def test_the_call_loop_asks_again_until_its_reservation_is_booked() -> None:
    limiter = Limiter()
    session = Session("sk-test", base_url="http://api.test", environ={}, limiter=limiter)
    user = [{"role": "user", "content": "hi"}]
    first = session.create_message(model=OPUS, max_tokens=10, messages=user)
    second = session.create_message(model=OPUS, max_tokens=10, messages=user)
    assert isinstance(first.start(0.0), Connect)  # the class's first request goes at once
    asked = second.start(0.0)
    assert isinstance(asked, Sleep)
    assert asked.until == pytest.approx(0.05)
    asked = second.next(0.05)  # still unanswered: ask again
    assert isinstance(asked, Sleep)
    assert asked.until == pytest.approx(0.1)
    limiter.update(0.07, limits(Limit(25, 24)), model=OPUS)  # the first's head came
    assert isinstance(second.next(0.1), Connect)
    assert first.abort() == second.abort() == []


# --- Limiter.record_usage -------------------------------------------------------------------


def test_record_usage_gives_back_unused_output() -> None:
    limiter = Limiter(output_tokens_per_minute=600)
    reservation = limiter.book(0.0, output_tokens=600)  # max_tokens
    assert isinstance(reservation, Reservation)
    assert (reservation.wait, reservation.send_at, reservation.output_tokens) == (0.0, 0.0, 600)
    limiter.record_usage(1.0, reservation, output_tokens=100)
    assert limiter.available(1.0) == {"output_tokens": 510.0}


def test_record_usage_charges_more_than_booked() -> None:
    limiter = Limiter(input_tokens_per_minute=6000)
    reservation = limiter.book(0.0, input_tokens=100)
    limiter.record_usage(0.0, reservation, input_tokens=1100)
    assert limiter.available(0.0) == {"input_tokens": 4900.0}


def test_record_usage_before_sending_cancels() -> None:
    limiter = Limiter(requests_per_minute=60, input_tokens_per_minute=6000)
    sent = [limiter.book(0.0) for _ in range(60)]
    reservation = limiter.book(0.0, input_tokens=1000)
    assert reservation.wait == 1.0
    limiter.record_usage(0.5, reservation, input_tokens=999)  # usage is moot: never sent
    # The input bucket was full: booked at 1 s, it counts its refill from then on,
    # so the cancellation gives back all but the half second before (conservative).
    assert limiter.available(0.5) == {"requests": 0.5, "input_tokens": 5950.0}
    for booked in sent:
        limiter.record_usage(0.5, booked)  # settled: no longer awaiting an answer
    limiter.update(0.5, limits(Limit(60, 0)))  # the cancelled one is not pending any more
    assert limiter.available(0.5) == {"requests": 0.0, "input_tokens": 5950.0}


def test_record_usage_after_update_charges_output_only() -> None:
    limiter = Limiter(input_tokens_per_minute=6000, output_tokens_per_minute=600)
    reservation = limiter.book(0.0, input_tokens=1000, output_tokens=600)
    # The response head: the server counted the input, not yet the output.
    limiter.update(0.5, limits(input_tokens=Limit(6000, 5001), output_tokens=Limit(600, 600)))
    limiter.record_usage(0.5, reservation, input_tokens=900, output_tokens=50)
    # Output: 600 left less the unsettled 600 booked, then the 550 not used given back.
    assert limiter.available(0.5) == {"input_tokens": 5001.0, "output_tokens": 550.0}


def test_a_reservation_is_settled_once() -> None:
    limiter = Limiter(requests_per_minute=60)
    reservation = limiter.book(0.0)
    limiter.record_usage(1.0, reservation)
    with pytest.raises(wire.LocalProtocolError, match="already settled"):
        limiter.record_usage(2.0, reservation)


# --- Limiter: parameters ------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -1, math.inf, math.nan])
def test_bad_limits_are_refused(value: float) -> None:
    with pytest.raises(wire.InvalidParameterError) as caught:
        Limiter(output_tokens_per_minute=value)
    assert caught.value.parameter == "output_tokens_per_minute"


@pytest.mark.parametrize("value", [-1, 1.5, True, "10"])
def test_bad_token_counts_are_refused(value: object) -> None:
    limiter = Limiter(input_tokens_per_minute=100)
    with pytest.raises(ValueError, match="input_tokens"):
        limiter.reserve(0.0, input_tokens=value)  # type: ignore[arg-type]
    reservation = limiter.book(0.0)
    with pytest.raises(ValueError, match="output_tokens"):
        limiter.record_usage(0.0, reservation, output_tokens=value)  # type: ignore[arg-type]


# --- properties -----------------------------------------------------------------------------

per_minute = st.one_of(st.none(), st.integers(1, 100_000))
requests = st.lists(
    st.tuples(st.floats(0, 30), st.integers(0, 20_000), st.integers(0, 20_000)),
    min_size=1,
    max_size=60,
)


@given(per_minute, per_minute, per_minute, requests)
def test_never_more_than_capacity_plus_refill_in_any_window(
    rpm: int | None, itpm: int | None, otpm: int | None, asks: list[tuple[float, int, int]]
) -> None:
    """In any window [a, b] of send times, a bucket lets through at most
    capacity + rate * (b - a), or the one oversized request in it plus that refill."""
    limiter = Limiter(
        requests_per_minute=rpm, input_tokens_per_minute=itpm, output_tokens_per_minute=otpm
    )
    now = 0.0
    sent: list[tuple[float, tuple[int, int, int]]] = []
    for dt, input_tokens, output_tokens in asks:
        now += dt
        wait = limiter.reserve(now, input_tokens=input_tokens, output_tokens=output_tokens)
        assert 0 <= wait < math.inf
        sent.append((now + wait, (1, input_tokens, output_tokens)))
    times = [t for t, _ in sent]
    # first come, first served (send times are sums of floats: equal up to rounding)
    assert all(later >= earlier - 1e-9 for earlier, later in itertools.pairwise(times))
    for kind, capacity in enumerate((rpm, itpm, otpm)):
        if capacity is None:
            continue
        rate = capacity / 60
        for i in range(len(sent)):
            total, biggest = 0, 0
            for j in range(i, len(sent)):
                cost = sent[j][1][kind]
                total, biggest = total + cost, max(biggest, cost)
                allowed = max(capacity, biggest) + rate * (sent[j][0] - sent[i][0])
                assert total <= allowed * (1 + 1e-9) + 1e-6, (kind, i, j)


@given(per_minute, st.integers(0, 5000), st.integers(1, 50))
def test_a_burst_waits_exactly_for_the_refill(rpm: int | None, extra: int, burst: int) -> None:
    limiter = Limiter(requests_per_minute=rpm)
    if rpm is None:  # past the slow start: the class answered, naming no limit
        limiter.update(0.0, RateLimits())
    waits = [limiter.reserve(0.0) for _ in range(burst + extra % 7)]
    if rpm is None:
        assert set(waits) == {0.0}
    else:
        for n, wait in enumerate(waits):
            assert wait == pytest.approx(max(0, n + 1 - rpm) * 60 / rpm)


class LimiterMachine(RuleBasedStateMachine):
    """Any interleaving of reserve, update, record_usage and time passing keeps the
    limiter sane: finite non-negative waits, first come first served, never above full."""

    def __init__(self) -> None:
        super().__init__()
        self.limiter = Limiter(requests_per_minute=30, input_tokens_per_minute=5000)
        self.now = 0.0
        self.last_send = 0.0
        self.open: list[Reservation] = []

    @rule(dt=st.floats(0, 20))
    def tick(self, dt: float) -> None:
        self.now += dt

    @rule(input_tokens=st.integers(0, 8000), output_tokens=st.integers(0, 8000))
    def reserve(self, input_tokens: int, output_tokens: int) -> None:
        booked = self.limiter.book(self.now, input_tokens=input_tokens, output_tokens=output_tokens)
        assert 0 <= booked.wait < math.inf
        assert booked.send_at >= self.last_send
        self.last_send = booked.send_at
        self.open.append(booked)

    @precondition(lambda self: self.open)
    @rule(data=st.data())
    def settle(self, data: st.DataObject) -> None:
        reservation = self.open.pop(data.draw(st.integers(0, len(self.open) - 1)))
        used = data.draw(st.tuples(st.integers(0, 9000), st.integers(0, 9000)))
        self.limiter.record_usage(
            self.now, reservation, input_tokens=used[0], output_tokens=used[1]
        )

    @rule(
        requests=st.builds(
            Limit,
            st.one_of(st.none(), st.integers(0, 100)),
            st.one_of(st.none(), st.integers(0, 100)),
        ),
        output=st.builds(
            Limit,
            st.one_of(st.none(), st.integers(0, 9000)),
            st.one_of(st.none(), st.integers(0, 9000)),
        ),
        retry_after=st.one_of(st.none(), st.floats(0, 30)),
    )
    def update(self, requests: Limit, output: Limit, retry_after: float | None) -> None:
        self.limiter.update(
            self.now, limits(requests, output_tokens=output, retry_after=retry_after)
        )

    @invariant()
    def never_above_full(self) -> None:
        for level in self.limiter.available(self.now).values():
            assert math.isfinite(level)
            assert level <= 9000


TestLimiterMachine = LimiterMachine.TestCase


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("claude-opus-4-6", "opus-4"),
        ("claude-opus-4-5-20251101", "opus-4"),
        ("claude-opus-4-1", "opus-4"),
        ("claude-sonnet-4-5-20250929", "sonnet-4"),
        ("claude-haiku-4-5", "haiku-4"),
        ("claude-sonnet-4-20250514", "sonnet-4"),
        ("claude-3-5-haiku-20241022", "haiku-3"),
        ("claude-3-haiku-20240307", "haiku-3"),
        ("claude-mythos-preview", "mythos"),
        ("claude-fable-5-2", "fable-5"),
        ("Claude-Opus-4-6", "opus-4"),
        ("gpt-test", "gpt-test"),
    ],
)
def test_model_class(model: str, expected: str) -> None:
    assert wire.model_class(model) == expected


# --- estimate_input_tokens ---------------------------------------------------------------

_words = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=400)
_block = st.one_of(
    st.builds(lambda t: {"type": "text", "text": t}, _words),
    st.builds(
        lambda d: {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": d},
        },
        st.text(alphabet="abcdef0123456789", max_size=200),
    ),
    st.builds(
        lambda n, a: {"type": "tool_use", "id": "toolu_01", "name": n, "input": {"q": a, "n": 3}},
        st.text(alphabet="abcdefgh_", min_size=1, max_size=20),
        _words,
    ),
    st.builds(lambda t: {"type": "tool_result", "tool_use_id": "toolu_01", "content": t}, _words),
)
_message = st.builds(
    lambda role, content: {"role": role, "content": content},
    st.sampled_from(["user", "assistant"]),
    st.one_of(_words, st.lists(_block, min_size=1, max_size=4)),
)
_tool = st.builds(
    lambda n, d: {"name": n, "description": d, "input_schema": {"type": "object"}},
    st.text(alphabet="abcdefgh_", min_size=1, max_size=20),
    _words,
)
_request = st.fixed_dictionaries(
    {"model": st.just("claude-opus-4-6"), "max_tokens": st.integers(1, 4096)},
    optional={
        "system": _words,
        "messages": st.lists(_message, min_size=1, max_size=6),
        "tools": st.lists(_tool, max_size=3),
    },
)


@given(_request)
def test_the_input_estimate_is_within_its_bound_of_the_emulators_count(
    request: dict[str, object],
) -> None:
    """docs/http.md: on ASCII text, never under the emulator's count and at most
    15% + 40 tokens over it (the API's own tokenizer is not public)."""
    counted = count_tokens(request)
    estimate = wire.estimate_input_tokens(request)
    assert counted <= estimate <= 1.15 * counted + 40
    assert wire.estimate_input_tokens(json.dumps(request).encode()) == estimate


def test_the_input_estimate_counts_other_scripts_a_token_a_character() -> None:
    text = "日本語のテキスト" * 10
    request = {"messages": [{"role": "user", "content": text}]}
    assert wire.estimate_input_tokens(request) == len(text) + 4 + 4  # "roleusercontent", a turn
    assert wire.estimate_input_tokens(b"not json at all!") == 4
    assert wire.estimate_input_tokens(b"[1, 2]") == 1


@given(
    st.integers(1, 100),
    st.integers(1_000, 100_000),
    st.integers(0, 200_000),
    st.lists(st.tuples(st.floats(0, 2), st.integers(0, 500)), min_size=1, max_size=80),
    st.booleans(),
)
def test_a_large_request_is_never_overtaken_by_later_small_ones(
    rpm: int, itpm: int, big: int, smalls: list[tuple[float, int]], synced: bool
) -> None:
    """Tasks sharing a limiter are served first come, first served within a class: a
    large request booked before a stream of small ones goes no later than any of them,
    and waits at most until its buckets are full again."""
    limiter = Limiter(requests_per_minute=rpm, input_tokens_per_minute=itpm)
    model = "claude-opus-4-6"
    if synced:  # the server's count says the key is half used
        limiter.update(0.0, limits(Limit(rpm, rpm // 2), Limit(itpm, itpm // 2)), model=model)
    large = limiter.book(0.0, model=model, input_tokens=big)
    assert large.wait <= 60.0 + 1e-9  # a full refill of either bucket, at most
    assert limiter.book(0.0, model="claude-haiku-4-5").wait == 0.0  # its own queue
    now = 0.0
    for dt, size in smalls:
        now += dt
        small = limiter.book(now, model=model, input_tokens=size)
        assert small.send_at >= large.send_at
