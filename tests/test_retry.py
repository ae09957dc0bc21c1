"""wire._retry: the SDK's retry rules, the server-named delay and its cap, HTTP dates."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

import wire
from wire._retry import (
    RetryPolicy,
    header_map,
    is_retryable,
    parse_http_date,
    parse_retry_after,
)

NOW = 1_755_780_000.0  # 2025-08-21T12:40:00Z
SPEND = {
    "type": "error",
    "error": {
        "type": "rate_limit_error",
        "message": "spend limit",
        "details": {"error_code": "enforced_spend_limit_reached"},
    },
    "request_id": "req_1",
}
RAMP = {
    "type": "error",
    "error": {
        "type": "rate_limit_error",
        "message": "slow down",
        "details": {"error_code": "ramp_limit_exceeded"},
    },
}


def fixed(value: float) -> Callable[[], float]:
    return lambda: value


DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def imf(epoch: float) -> str:
    """An IMF-fixdate, built without the locale-dependent strftime names."""
    d = datetime.fromtimestamp(epoch, UTC)
    return f"{DAYS[d.weekday()]}, {d.day:02d} {MONTHS[d.month - 1]} {d.year:04d} {d:%H:%M:%S} GMT"


# --- the backoff schedule -----------------------------------------------------------------


def test_schedule_without_jitter_doubles_to_the_ceiling() -> None:
    policy = RetryPolicy(10, random=fixed(0.0))
    assert [policy.delay(n, status=529) for n in range(10)] == [
        0.5,
        1.0,
        2.0,
        4.0,
        8.0,
        8.0,
        8.0,
        8.0,
        8.0,
        8.0,
    ]


def test_jitter_shortens_by_up_to_a_quarter() -> None:
    u = 0.999_999_999
    policy = RetryPolicy(7, random=fixed(u))
    expected = [base * (1 - 0.25 * u) for base in (0.5, 1, 2, 4, 8, 8, 8)]
    assert [policy.delay(n, status=500) for n in range(7)] == pytest.approx(expected, rel=1e-12)
    assert policy.delay(0, status=500) == pytest.approx(0.375, abs=1e-9)


def test_default_policy_retries_twice() -> None:
    policy = RetryPolicy(random=fixed(0.0))
    assert policy.max_retries == 2
    assert policy.delay(0, status=529) == 0.5
    assert policy.delay(1, status=529) == 1.0
    assert policy.delay(2, status=529) is None
    assert policy.delay(50, status=529) is None


def test_zero_retries_never_retries() -> None:
    assert RetryPolicy(0).delay(0, status=529) is None
    assert RetryPolicy(0).delay(0, headers={"x-should-retry": "true"}) is None


def test_custom_backoff_parameters() -> None:
    policy = RetryPolicy(5, initial_delay=1.0, max_delay=3.0, jitter=0.5, random=fixed(0.5))
    assert [policy.delay(n, status=503) for n in range(5)] == [0.75, 1.5, 2.25, 2.25, 2.25]


def test_random_source_outside_the_unit_interval_is_clamped() -> None:
    assert RetryPolicy(random=fixed(7.0)).delay(0, status=529) == 0.375
    assert RetryPolicy(random=fixed(-3.0)).delay(0, status=529) == 0.5


def test_huge_attempt_numbers_stay_at_the_ceiling() -> None:
    policy = RetryPolicy(10**9, random=fixed(0.0))
    assert policy.delay(5000, status=529) == 8.0
    assert policy.backoff(10**6) == 8.0


def test_default_random_source_is_the_stdlib() -> None:
    delays = {RetryPolicy().delay(0, status=529) for _ in range(50)}
    assert all(d is not None and 0.375 <= d <= 0.5 for d in delays)
    assert len(delays) > 1


# --- which failures are retried -------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 409, 429, 500, 501, 502, 503, 504, 529, 599, 600])
def test_retried_statuses(status: int) -> None:
    assert RetryPolicy(random=fixed(0.0)).delay(0, status=status) == 0.5
    assert is_retryable(status, None, None)


@pytest.mark.parametrize(
    "status", [200, 201, 204, 301, 304, 400, 401, 402, 403, 404, 405, 412, 413, 422, 431, 499]
)
def test_other_statuses_are_not_retried(status: int) -> None:
    assert RetryPolicy().delay(0, status=status) is None
    assert not is_retryable(status, [], None)


@pytest.mark.parametrize(
    "error", [wire.APIConnectionError("reset"), wire.APITimeoutError(timeout="read")]
)
def test_connection_failures_are_retried(error: BaseException) -> None:
    assert RetryPolicy(random=fixed(0.0)).delay(0, error=error) == 0.5


@pytest.mark.parametrize(
    "error",
    [
        wire.RemoteProtocolError("bad status line"),
        wire.IncompleteStreamError("cut", None),
        wire.BodyTooLargeError("max_body_bytes", 10, 11),
        wire.EventDecodeError("message_start", "not JSON"),
        wire.PartialJSONError("bad"),
        wire.ProtocolError("?"),
        wire.WireError("?"),
        OSError("refused"),
        KeyError("a caller's bug"),
        ValueError("x"),
        KeyboardInterrupt(),
    ],
)
def test_peer_protocol_errors_and_foreign_exceptions_are_not_retried(
    error: BaseException,
) -> None:
    policy = RetryPolicy()
    assert policy.delay(0, error=error) is None
    # Whatever the other arguments say: the error decides that there is no retry.
    assert policy.delay(0, error=error, status=529, headers={"x-should-retry": "true"}) is None


def test_no_response_at_all_counts_as_a_transport_failure() -> None:
    assert RetryPolicy(random=fixed(0.0)).delay(0) == 0.5
    assert is_retryable(None)


@pytest.mark.parametrize(
    "error", [wire.LocalProtocolError("misuse"), wire.InvalidParameterError("model", "missing")]
)
def test_caller_misuse_is_never_retried(error: BaseException) -> None:
    assert RetryPolicy().delay(0, error=error) is None


def test_api_errors_supply_status_and_body() -> None:
    policy = RetryPolicy(random=fixed(0.0))
    assert policy.delay(0, error=wire.OverloadedError("busy")) == 0.5
    assert policy.delay(0, error=wire.RateLimitError("slow", body=RAMP)) == 0.5
    assert policy.delay(0, error=wire.RateLimitError("cap", body=SPEND)) is None
    assert policy.delay(0, error=wire.BadRequestError("no")) is None
    # An explicit status wins over the error's own.
    assert policy.delay(0, status=400, error=wire.OverloadedError("busy")) is None
    assert policy.delay(0, status=503, error=wire.BadRequestError("no")) == 0.5


def test_an_error_event_inside_a_200_stream_is_not_retried() -> None:
    error = wire.OverloadedError("Overloaded", status=200, type="overloaded_error")
    assert RetryPolicy().delay(0, error=error) is None


def test_spend_limit_429_is_not_retried() -> None:
    assert RetryPolicy().delay(0, status=429, body=SPEND) is None
    assert not is_retryable(429, {}, SPEND)
    assert is_retryable(429, {}, RAMP)
    assert is_retryable(429, {}, {"error": "not an object"})
    assert is_retryable(429, {}, "rate limited (not JSON)")
    assert is_retryable(429, {}, {"error": {"details": None}})


def test_spend_limit_ignores_retry_after() -> None:
    headers = {"retry-after": "5"}
    assert RetryPolicy().delay(0, status=429, headers=headers, body=SPEND) is None


# --- x-should-retry -------------------------------------------------------------------------


def test_should_retry_true_forces_a_retry() -> None:
    policy = RetryPolicy(random=fixed(0.0))
    assert policy.delay(0, status=400, headers={"x-should-retry": "true"}) == 0.5
    assert policy.delay(0, status=200, headers={"X-Should-Retry": "true"}) == 0.5
    assert is_retryable(404, [("x-should-retry", "true")], None)


def test_should_retry_false_forbids_a_retry() -> None:
    policy = RetryPolicy()
    assert policy.delay(0, status=529, headers={"x-should-retry": "false"}) is None
    assert policy.delay(0, status=500, headers=[(b"X-SHOULD-RETRY", b"false")]) is None
    assert not is_retryable(429, {"x-should-retry": "false"}, None)


@pytest.mark.parametrize("value", ["TRUE", "True", "1", "yes", "", "true-ish"])
def test_should_retry_needs_the_exact_lower_case_value(value: str) -> None:
    policy = RetryPolicy(random=fixed(0.0))
    assert policy.delay(0, status=400, headers={"x-should-retry": value}) is None
    assert policy.delay(0, status=529, headers={"x-should-retry": value.upper()}) == 0.5


def test_should_retry_comes_before_the_spend_limit_but_not_max_retries() -> None:
    policy = RetryPolicy(random=fixed(0.0))
    headers = {"x-should-retry": "true"}
    assert policy.delay(0, status=429, headers=headers, body=SPEND) == 0.5
    assert policy.delay(2, status=429, headers=headers) is None


def test_should_retry_ignores_surrounding_whitespace() -> None:
    assert is_retryable(400, [("x-should-retry", " true\t")], None)


# --- the server-named delay ---------------------------------------------------------------


def test_retry_after_seconds() -> None:
    policy = RetryPolicy(random=fixed(0.0))
    assert policy.delay(0, status=429, headers={"retry-after": "3"}) == 3.0
    assert policy.delay(0, status=429, headers={"Retry-After": "2.5"}) == 2.5
    assert policy.delay(1, status=503, headers={"retry-after": ".25"}) == 0.25


def test_retry_after_ms_comes_first() -> None:
    policy = RetryPolicy(random=fixed(0.0))
    headers = {"retry-after-ms": "1500", "retry-after": "7"}
    assert policy.delay(0, status=429, headers=headers) == 1.5
    assert policy.delay(0, status=429, headers={"retry-after-ms": "12.5"}) == 0.0125
    # Unparseable milliseconds fall through to retry-after.
    headers = {"retry-after-ms": "soon", "retry-after": "7"}
    assert policy.delay(0, status=429, headers=headers) == 7.0


def test_retry_after_http_date_is_relative_to_now() -> None:
    policy = RetryPolicy(random=fixed(0.0))
    headers = {"retry-after": imf(NOW + 12)}
    assert policy.delay(0, status=503, headers=headers, now=NOW) == pytest.approx(12.0)
    assert policy.delay(0, status=503, headers=headers, now=NOW + 10.5) == pytest.approx(1.5)


def test_retry_after_date_without_now_is_ignored() -> None:
    headers = {"retry-after": imf(NOW + 12)}
    assert RetryPolicy(random=fixed(0.0)).delay(0, status=503, headers=headers) == 0.5
    assert parse_retry_after(headers) is None


@pytest.mark.parametrize("value", ["0", "0.0", "0000", imf(NOW - 30), imf(NOW)])
def test_non_positive_delays_fall_back_to_backoff(value: str) -> None:
    policy = RetryPolicy(random=fixed(0.0))
    assert policy.delay(1, status=429, headers={"retry-after": value}, now=NOW) == 1.0


@pytest.mark.parametrize(
    "value",
    [
        "soon",
        "-1",
        "-0.5",
        "+3",
        "1e3",
        "inf",
        "nan",
        "Infinity",
        "",
        "3 s",
        "1_0",
        "٣",
        "9" * 400,
        "Fri, 32 Aug 2025 12:40:00 GMT",
        "Thu, 21 Aug 2025 25:00:00 GMT",
        "21 Aug 2025",
    ],
)
def test_garbage_retry_after_falls_back_to_backoff(value: str) -> None:
    policy = RetryPolicy(random=fixed(0.0))
    assert policy.delay(0, status=429, headers={"retry-after": value}, now=NOW) == 0.5
    ms = {"retry-after-ms": value}
    assert policy.delay(0, status=429, headers=ms, now=NOW) == 0.5


def test_server_delay_is_capped() -> None:
    policy = RetryPolicy(random=fixed(0.0))
    assert policy.delay(0, status=429, headers={"retry-after": "100"}) == 60.0
    assert policy.delay(0, status=429, headers={"retry-after-ms": "90000"}) == 60.0
    headers = {"retry-after": imf(NOW + 3600)}
    assert policy.delay(0, status=429, headers=headers, now=NOW) == 60.0
    assert RetryPolicy(max_retry_after=5).delay(0, status=429, headers={"retry-after": "9"}) == 5
    uncapped = RetryPolicy(max_retry_after=math.inf)
    assert uncapped.delay(0, status=429, headers={"retry-after": "100"}) == 100.0


def test_server_delay_applies_to_forced_retries_and_connection_errors() -> None:
    headers = {"x-should-retry": "true", "retry-after": "4"}
    assert RetryPolicy().delay(0, status=400, headers=headers) == 4.0
    error = wire.APIConnectionError("reset")
    assert RetryPolicy().delay(0, headers={"retry-after": "4"}, error=error) == 4.0


def test_parse_retry_after_is_uncapped_and_clamps_past_dates() -> None:
    assert parse_retry_after({"retry-after": "86400"}) == 86400.0
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert parse_retry_after({"retry-after": imf(NOW - 5)}, now=NOW) == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after({"retry-after": "x"}, now=NOW) is None


# --- HTTP dates ---------------------------------------------------------------------------


def test_http_date_forms() -> None:
    expected = datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC).timestamp()
    assert parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == expected
    assert parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == expected
    assert parse_http_date("Sun Nov  6 08:49:37 1994") == expected
    assert parse_http_date("  sun, 06 NOV 1994 08:49:37 gmt ") == expected


def test_rfc850_two_digit_years() -> None:
    assert parse_http_date("Thursday, 21-Aug-25 12:40:00 GMT") == NOW
    assert parse_http_date("Thursday, 01-Jan-70 00:00:00 GMT") == 0.0


def test_http_date_leap_second() -> None:
    end = datetime(2017, 1, 1, tzinfo=UTC).timestamp()
    assert parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT") == end


@pytest.mark.parametrize(
    "value",
    [
        "",
        "yesterday",
        "Sun, 06 Nov 1994 08:49:37",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 30 Feb 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:60:00 GMT",
        "Sun, 06 Nov 1994 08:49:61 GMT",
        "Sun, 06 Nov 0000 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT extra",
        "Sun, 06 \u212aov 1994 08:49:37 GMT",
        "2025-08-21T12:40:00Z",
        "1755780000",
    ],
)
def test_not_http_dates(value: str) -> None:
    assert parse_http_date(value) is None


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
def test_imf_fixdate_round_trip(moment: datetime) -> None:
    epoch = moment.replace(microsecond=0, tzinfo=UTC).timestamp()
    assert parse_http_date(imf(epoch)) == epoch


@given(st.text())
def test_parse_http_date_never_raises(text: str) -> None:
    parse_http_date(text)


# --- headers ------------------------------------------------------------------------------


def test_header_map_accepts_mappings_pairs_and_bytes() -> None:
    assert header_map({"Retry-After": " 3 "}) == {"retry-after": "3"}
    assert header_map([("Retry-After", "3"), ("retry-after", "4")]) == {"retry-after": "3"}
    assert header_map([(b"X-Should-Retry", b"true")]) == {"x-should-retry": "true"}
    assert header_map(()) == {} == header_map(None)
    assert header_map(iter([("A", "1")])) == {"a": "1"}


# --- the policy object --------------------------------------------------------------------


def test_policy_is_frozen_and_compares_by_value() -> None:
    policy = RetryPolicy(3, max_delay=4.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.max_retries = 5  # type: ignore[misc]
    assert policy == RetryPolicy(3, max_delay=4.0, random=fixed(0.3))
    assert dataclasses.replace(policy, max_retries=1).max_retries == 1
    assert "random" not in repr(policy)
    assert "max_retries=3" in repr(policy)


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": 1.5}, "max_retries"),
        ({"max_retries": True}, "max_retries"),
        ({"initial_delay": -0.1}, "initial_delay"),
        ({"max_delay": math.inf}, "max_delay"),
        ({"jitter": 1.5}, "jitter"),
        ({"jitter": math.nan}, "jitter"),
        ({"max_retry_after": -1}, "max_retry_after"),
    ],
)
def test_bad_parameters_are_refused(kwargs: dict[str, float], parameter: str) -> None:
    with pytest.raises(ValueError, match=parameter) as caught:
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
    assert isinstance(caught.value, wire.InvalidParameterError)
    assert caught.value.parameter == parameter


def test_negative_attempt_is_refused() -> None:
    with pytest.raises(wire.InvalidParameterError, match="attempt"):
        RetryPolicy().delay(-1, status=529)


# --- properties ---------------------------------------------------------------------------

statuses = st.one_of(st.none(), st.integers(100, 999))
retry_after_values = st.one_of(
    st.floats(-10, 1e6, allow_nan=False).map(str),
    st.integers(-5, 10**7).map(str),
    st.floats(NOW - 1e5, NOW + 1e5).map(imf),
    st.text(max_size=30),
)
header_lists = st.lists(
    st.tuples(
        st.sampled_from(["retry-after", "Retry-After-Ms", "x-should-retry", "x-other"]),
        st.one_of(retry_after_values, st.sampled_from(["true", "false"])),
    ),
    max_size=4,
)
policies = st.builds(
    RetryPolicy,
    st.integers(0, 8),
    initial_delay=st.floats(0, 10),
    max_delay=st.floats(0, 100),
    jitter=st.floats(0, 1),
    max_retry_after=st.floats(0, 1000),
    random=st.floats(0, 1, exclude_max=True).map(fixed),
)


@given(
    policies,
    st.integers(0, 20),
    statuses,
    header_lists,
    st.one_of(st.none(), st.just(SPEND), st.just(RAMP)),
    st.one_of(st.none(), st.floats(0, 2e9)),
)
def test_delays_are_within_zero_and_the_cap(
    policy: RetryPolicy,
    attempt: int,
    status: int | None,
    headers: list[tuple[str, str]],
    body: object,
    now: float | None,
) -> None:
    delay = policy.delay(attempt, status=status, headers=headers, body=body, now=now)
    if attempt >= policy.max_retries:
        assert delay is None
    if delay is not None:
        assert 0 <= delay <= max(policy.max_delay, policy.max_retry_after)
        assert is_retryable(status, headers, body)


@given(policies, st.data())
def test_overloaded_is_always_retried_before_max_retries(
    policy: RetryPolicy, data: st.DataObject
) -> None:
    for attempt in range(policy.max_retries):
        headers = data.draw(st.lists(st.tuples(st.just("retry-after"), retry_after_values)))
        delay = policy.delay(attempt, status=529, headers=headers, now=NOW)
        assert delay is not None
        assert 0 <= delay <= max(policy.max_delay, policy.max_retry_after)
    assert policy.delay(policy.max_retries, status=529) is None


@given(
    st.lists(st.tuples(st.text(max_size=20), st.text(max_size=40)), max_size=6),
    st.one_of(st.none(), st.floats(allow_nan=False)),
)
def test_parse_retry_after_never_raises(headers: list[tuple[str, str]], now: float | None) -> None:
    value = parse_retry_after(headers, now=now)
    assert value is None or value >= 0


def test_imf_helper_matches_a_known_date() -> None:
    assert imf(NOW) == "Thu, 21 Aug 2025 12:40:00 GMT"
    assert imf(NOW + timedelta(days=1).total_seconds()).startswith("Fri, 22 Aug")


# --- one retry truth: the error alone decides ------------------------------------------------

KEY_REQUEST = wire.Request("GET", "/v1/models", (("x-api-key", "sk-ant-secret"),))


def api_error(status: int, headers: list[tuple[str, str]], body: bytes = b"") -> wire.APIError:
    """The `APIError` a `ClientConnection` makes of this response, as a driver receives it."""
    client = wire.ClientConnection("api.test")
    client.send_request(KEY_REQUEST)
    lines = [f"HTTP/1.1 {status} Whatever", *(f"{k}: {v}" for k, v in headers)]
    lines.append(f"content-length: {len(body)}")
    events = client.receive_data("\r\n".join(lines).encode() + b"\r\n\r\n" + body)
    errors = [e.error for e in events if isinstance(e, wire.ErrorResponse)]
    assert len(errors) == 1, events
    return errors[0]


def test_error_alone_obeys_x_should_retry_false() -> None:
    error = api_error(500, [("X-Should-Retry", "false")])
    assert ("x-should-retry", "false") in error.headers
    assert not error.retryable
    assert RetryPolicy().delay(0, error=error) is None


def test_error_alone_obeys_x_should_retry_true() -> None:
    error = api_error(400, [("x-should-retry", "true"), ("retry-after", "3")])
    assert RetryPolicy().delay(0, error=error) == 3.0


def test_error_alone_obeys_retry_after() -> None:
    assert RetryPolicy().delay(0, error=api_error(429, [("retry-after", "30")])) == 30.0
    assert RetryPolicy().delay(0, error=api_error(529, [("retry-after-ms", "1500")])) == 1.5
    date = [("retry-after", imf(NOW + 20))]
    assert RetryPolicy().delay(0, error=api_error(503, date), now=NOW) == 20.0
    capped = RetryPolicy(max_retry_after=5.0)
    assert capped.delay(0, error=api_error(429, [("retry-after", "30")])) == 5.0


def test_error_alone_reads_the_spend_limit_of_a_hand_built_error() -> None:
    error = wire.RateLimitError("cap", body=SPEND)
    assert error.retryable  # the class default: the policy still reads the envelope
    assert RetryPolicy().delay(0, error=error) is None


def test_hand_built_error_headers_are_normalised() -> None:
    error = wire.RateLimitError("slow", headers=[(b"Retry-After", b"7")])
    assert error.headers == (("retry-after", "7"),)
    assert RetryPolicy().delay(0, error=error) == 7.0
    assert wire.OverloadedError("busy").headers == ()
    for bad in ("retry-after: 7", [("a",)], [(1, "2")], 7):
        with pytest.raises(wire.InvalidParameterError) as caught:
            wire.APIError("x", headers=bad)  # type: ignore[arg-type]
        assert caught.value.parameter == "headers"


def test_explicit_values_win_over_the_error_field_by_field() -> None:
    error = api_error(429, [("retry-after", "30")])
    policy = RetryPolicy(random=fixed(0.0))
    assert policy.delay(0, error=error, headers={}) == 0.5  # status from the error, no delay
    assert policy.delay(0, error=error, status=400) is None  # headers from the error
    assert policy.delay(0, error=error, body=SPEND) is None


# Header values an API (or a proxy) might send, restricted to what survives HTTP/1.1.
visible = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30)
wire_values = st.one_of(
    st.floats(-10, 1e6, allow_nan=False).map(str),
    st.integers(-5, 10**7).map(str),
    st.floats(NOW - 1e5, NOW + 1e5).map(imf),
    st.sampled_from(["true", "false", " true", "TRUE"]),
    visible,
).map(lambda v: v.strip(" \t"))
wire_headers = st.lists(
    st.tuples(
        st.sampled_from(
            ["retry-after", "Retry-After-Ms", "x-should-retry", "X-Should-Retry", "x-other"]
        ),
        wire_values,
    ),
    max_size=4,
)
envelopes = st.one_of(
    st.none(),
    st.just(SPEND),
    st.just(RAMP),
    st.builds(
        lambda kind, message: {"type": "error", "error": {"type": kind, "message": message}},
        st.sampled_from(["overloaded_error", "api_error", "rate_limit_error", "invalid_x"]),
        st.text(max_size=10),
    ),
    st.text(max_size=10),  # not an object: the envelope is then whatever parsed, or None
)


@given(st.integers(400, 999), wire_headers, envelopes, st.floats(0, 1, exclude_max=True))
def test_the_error_alone_agrees_with_is_retryable_and_explicit_values(
    status: int, headers: list[tuple[str, str]], envelope: object, u: float
) -> None:
    body = b"" if envelope is None else json.dumps(envelope).encode()
    error = api_error(status, headers, body)
    policy = RetryPolicy(random=fixed(u))
    expected = is_retryable(status, headers, envelope)
    assert error.retryable == expected
    from_error = policy.delay(0, error=error, now=NOW)
    explicit = policy.delay(0, status=status, headers=headers, body=envelope, now=NOW)
    assert (from_error is not None) == expected
    assert from_error == explicit  # same None-ness, same server-named (or backoff) delay


# --- parameter types ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "parameter"),
    [
        ((0,), {"status": "529"}, "status"),
        ((0,), {"status": 529.0}, "status"),
        ((0,), {"status": True}, "status"),
        (("0",), {"status": 529}, "attempt"),
        ((True,), {"status": 529}, "attempt"),
        ((0.0,), {}, "attempt"),
        ((0,), {"headers": 5}, "headers"),
        ((0,), {"headers": "retry-after: 1"}, "headers"),
        ((0,), {"headers": [("retry-after", 1)]}, "headers"),
        ((0,), {"headers": [("retry-after",)]}, "headers"),
        ((0,), {"headers": {b"a": None}}, "headers"),
        ((0,), {"now": "today"}, "now"),
        ((0,), {"now": math.nan}, "now"),
        ((0,), {"now": math.inf}, "now"),
        ((0,), {"error": "boom"}, "error"),
        ((0,), {"error": KeyError}, "error"),
    ],
)
def test_wrong_parameter_types_name_the_parameter(
    args: tuple[object, ...], kwargs: dict[str, object], parameter: str
) -> None:
    with pytest.raises(wire.InvalidParameterError) as caught:
        RetryPolicy().delay(*args, **kwargs)  # type: ignore[arg-type]
    assert caught.value.parameter == parameter
    # Checked before `max_retries` is: a wrong type is refused on every attempt.
    with pytest.raises(wire.InvalidParameterError):
        RetryPolicy(0).delay(*args, **kwargs)  # type: ignore[arg-type]


def test_is_retryable_and_backoff_check_their_types() -> None:
    with pytest.raises(wire.InvalidParameterError, match="status"):
        is_retryable("500")  # type: ignore[arg-type]
    with pytest.raises(wire.InvalidParameterError, match="headers"):
        is_retryable(500, 3)  # type: ignore[arg-type]
    with pytest.raises(wire.InvalidParameterError, match="attempt"):
        RetryPolicy().backoff("1")  # type: ignore[arg-type]
    with pytest.raises(wire.InvalidParameterError, match="random"):
        RetryPolicy(random=0.5)  # type: ignore[arg-type]
    with pytest.raises(wire.InvalidParameterError, match="random"):
        RetryPolicy(random=lambda: "0.5").delay(0, status=500)  # type: ignore[arg-type,return-value]


def test_int_subclasses_are_statuses() -> None:
    from http import HTTPStatus

    assert RetryPolicy(random=fixed(0.0)).delay(0, status=HTTPStatus.TOO_MANY_REQUESTS) == 0.5


# --- the jitter source ---------------------------------------------------------------------


def test_nan_jitter_is_no_jitter() -> None:
    assert RetryPolicy(random=lambda: math.nan).delay(0, status=500) == 0.5
    assert RetryPolicy(random=lambda: math.inf).delay(0, status=500) == 0.375
    assert RetryPolicy(random=lambda: -math.inf).delay(0, status=500) == 0.5


@given(policies, st.integers(0, 50), st.one_of(st.floats(), st.integers(-(2**70), 2**70)))
def test_any_number_from_the_random_source_gives_a_delay_in_range(
    policy: RetryPolicy, attempt: int, value: float
) -> None:
    policy = RetryPolicy(
        attempt + 1,
        initial_delay=policy.initial_delay,
        max_delay=policy.max_delay,
        jitter=policy.jitter,
        random=fixed(value),
    )
    delay = policy.delay(attempt, status=503)
    assert delay is not None
    assert not math.isnan(delay)
    top = min(policy.max_delay, policy.initial_delay * 2.0 ** min(attempt, 1100))
    assert top * (1 - policy.jitter) <= delay <= top
