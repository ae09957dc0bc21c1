"""The emulator's rate limits: per model class, RPM + ITPM + OTPM buckets refilling continuously.

Most tests drive `RateLimiter` or the sans-IO `Emulator` on a fake clock; the last ones go
through `wire.testing.serve` on loopback with `wire.sync` and the official SDK.
"""

from __future__ import annotations

import copy
import math
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wire
from tests.test_emulator import CFG, HELLO, NOW, body_of, call, error_of
from wire import builders as build
from wire._ratelimit import parse_rfc3339
from wire.testing.emulator import Emulator
from wire.testing.ratelimits import (
    DEFAULT_LIMITS,
    MAX_CLASSES,
    TIERS,
    ClassLimits,
    RateLimited,
    RateLimiter,
)

OPUS, SONNET, HAIKU = "claude-opus-4-6", "claude-sonnet-4-6", "claude-haiku-4-5"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "emulator.md"


def admit(limiter: RateLimiter, now: float, model: str = OPUS, i: int = 0, o: int = 0) -> bool:
    """Whether `limiter` admits one request (and books it if so)."""
    try:
        limiter.admit(model, now, input_tokens=i, output_tokens=o)
    except RateLimited:
        return False
    return True


def refusal(limiter: RateLimiter, now: float, model: str = OPUS, i: int = 0) -> RateLimited:
    with pytest.raises(RateLimited) as info:
        limiter.admit(model, now, input_tokens=i, output_tokens=0)
    return info.value


def headers_of(headers: list[tuple[str, str]]) -> dict[str, str]:
    return dict(headers)


def message(model: str = OPUS, max_tokens: int = 50) -> wire.Request:
    return build.create_message(CFG, model=model, max_tokens=max_tokens, messages=HELLO)


# --- buckets ------------------------------------------------------------------------------


def test_buckets_refill_continuously_not_per_window() -> None:
    limiter = RateLimiter(requests_per_minute=10, enforce=True)
    assert all(admit(limiter, NOW) for _ in range(10))
    assert not admit(limiter, NOW + 1)  # an empty bucket: no new window starts
    # Half a minute after emptying, half the bucket is back, and no more.
    assert sum(admit(limiter, NOW + 30) for _ in range(8)) == 5
    assert sum(admit(limiter, NOW + 36) for _ in range(3)) == 1  # one more 6 s later


def test_a_bucket_never_holds_more_than_its_limit() -> None:
    limiter = RateLimiter(requests_per_minute=3, enforce=True)
    assert admit(limiter, NOW)
    assert sum(admit(limiter, NOW + 3600) for _ in range(5)) == 3


def test_the_requests_limit_trips_alone() -> None:
    limiter = RateLimiter(requests_per_minute=2, enforce=True)
    assert admit(limiter, NOW)
    assert admit(limiter, NOW)
    refused = refusal(limiter, NOW)
    assert (refused.axis, refused.limit, refused.model_class) == ("requests", 2, "opus-4")
    assert refused.wait == pytest.approx(30)
    assert "2 requests per minute" in str(refused)


def test_the_input_limit_trips_alone() -> None:
    limiter = RateLimiter(input_tokens_per_minute=1000, enforce=True)
    assert admit(limiter, NOW, i=600)
    refused = refusal(limiter, NOW, i=600)
    assert refused.axis == "input-tokens"
    assert refused.wait == pytest.approx(200 * 60 / 1000)  # 200 tokens short at 1,000 a minute
    assert "1,000 input tokens per minute" in str(refused)
    assert admit(limiter, NOW, i=400)  # what fits still goes


def test_the_output_limit_trips_alone_once_in_debt() -> None:
    limiter = RateLimiter(output_tokens_per_minute=100, enforce=True)
    assert admit(limiter, NOW, o=150)  # output counts as produced: the bucket goes to -50
    with pytest.raises(RateLimited) as info:
        limiter.admit(OPUS, NOW, input_tokens=0, output_tokens=1)
    assert info.value.axis == "output-tokens"
    assert info.value.wait == pytest.approx(30)  # back to 0 after 50 tokens' refill
    assert admit(limiter, NOW + 30, o=1)


def test_a_request_larger_than_the_input_limit_passes_once_the_bucket_is_full() -> None:
    limiter = RateLimiter(input_tokens_per_minute=1000, enforce=True)
    assert admit(limiter, NOW, i=5000)
    refused = refusal(limiter, NOW + 1, i=5000)
    assert refused.axis == "input-tokens"
    # It took 5,000 (to -4,000), needs the whole 1,000 back: 5,000 tokens of refill.
    assert refused.wait == pytest.approx(5 * 60 - 1)
    assert admit(limiter, NOW + 5 * 60, i=5000)


def test_the_longest_wait_is_the_limit_named() -> None:
    limiter = RateLimiter(requests_per_minute=60, input_tokens_per_minute=600, enforce=True)
    assert admit(limiter, NOW, i=600)
    refused = refusal(limiter, NOW, i=300)  # requests fine; input 300 short: 30 s
    assert refused.axis == "input-tokens"
    assert refused.wait == pytest.approx(30)


def test_without_enforcement_nothing_is_refused_but_the_count_goes_on() -> None:
    limiter = RateLimiter(requests_per_minute=1)
    for _ in range(3):
        headers = headers_of(limiter.admit(OPUS, NOW, input_tokens=5, output_tokens=5))
    assert headers["anthropic-ratelimit-requests-remaining"] == "0"


# --- classes ------------------------------------------------------------------------------


def test_model_classes_are_independent() -> None:
    limiter = RateLimiter(tier=1, enforce=True)
    assert all(admit(limiter, NOW, OPUS) for _ in range(25))
    assert not admit(limiter, NOW, "claude-opus-4-5")  # the same class: opus-4
    assert all(admit(limiter, NOW, HAIKU) for _ in range(50))
    assert all(admit(limiter, NOW, SONNET) for _ in range(50))
    assert not admit(limiter, NOW, HAIKU)


def test_limits_resolve_most_specific_first() -> None:
    limiter = RateLimiter(tier=2, output_tokens_per_minute=7, limits={"haiku-4": (1, 2, 3)})
    assert limiter.limits_for("haiku-4") == ClassLimits(1, 2, 3)
    assert limiter.limits_for("opus-4") == ClassLimits(500, 450_000, 7)
    assert limiter.limits_for("mythos") == ClassLimits(1_000, 450_000, 7)  # the tier's default
    assert RateLimiter().limits_for("opus-4") == DEFAULT_LIMITS == (1_000, 80_000, 16_000)


def test_opus_carries_the_lower_rpm_in_every_tier() -> None:
    for table in TIERS.values():
        assert table["opus-4"].requests < table["sonnet-4"].requests
        assert table["opus-4"].requests < table["haiku-4"].requests


def test_tier_presets_match_the_table_in_the_docs() -> None:
    rows = re.findall(
        r"^\| (\d) \| `([\w-]+)` \| ([\d,]+) \| ([\d,]+) \| ([\d,]+) \|$",
        DOCS.read_text(),
        re.MULTILINE,
    )
    documented = {
        (int(tier), None if name == "other" else name): ClassLimits(
            *(int(n.replace(",", "")) for n in figures)
        )
        for tier, name, *figures in rows
    }
    assert documented == {(t, name): v for t, table in TIERS.items() for name, v in table.items()}


def test_state_is_kept_only_for_classes_seen_and_bounded() -> None:
    limiter = RateLimiter(requests_per_minute=1, enforce=True, minute_seconds=1)
    assert limiter._classes == {}
    for n in range(MAX_CLASSES + 10):
        assert admit(limiter, NOW + n / 1000, f"model-{n}")  # each its own class
        assert len(limiter._classes) <= MAX_CLASSES
    # A class still in use survived (full classes and the least recently used went first).
    assert not admit(limiter, NOW + (MAX_CLASSES + 10) / 1000, f"model-{MAX_CLASSES + 9}")


def test_bad_options_are_refused() -> None:
    for options in (
        {"tier": 5},
        {"minute_seconds": 0},
        {"minute_seconds": math.inf},
        {"minute_seconds": True},
        {"requests_per_minute": 0},
        {"input_tokens_per_minute": 1.5},
        {"limits": {"opus-4": (1, 2)}},
        {"limits": {"opus-4": (1, 2, -3)}},
    ):
        with pytest.raises(ValueError, match=r"tier|minute_seconds|limit"):
            RateLimiter(**options)


# --- headers ------------------------------------------------------------------------------


def test_headers_describe_the_request_s_class() -> None:
    limiter = RateLimiter(tier=1)
    opus = headers_of(limiter.admit(OPUS, NOW, input_tokens=1234, output_tokens=100))
    haiku = headers_of(limiter.admit(HAIKU, NOW, input_tokens=10, output_tokens=10))
    assert opus["anthropic-ratelimit-requests-limit"] == "25"
    assert opus["anthropic-ratelimit-requests-remaining"] == "24"  # exact
    assert opus["anthropic-ratelimit-input-tokens-limit"] == "30000"
    assert opus["anthropic-ratelimit-input-tokens-remaining"] == "29000"  # 28,766
    assert opus["anthropic-ratelimit-output-tokens-limit"] == "8000"
    assert opus["anthropic-ratelimit-output-tokens-remaining"] == "8000"  # 7,900
    assert opus["anthropic-ratelimit-tokens-limit"] == "38000"
    assert opus["anthropic-ratelimit-tokens-remaining"] == "37000"  # 36,666
    assert haiku["anthropic-ratelimit-requests-limit"] == "50"
    assert haiku["anthropic-ratelimit-requests-remaining"] == "49"
    assert haiku["anthropic-ratelimit-input-tokens-limit"] == "50000"
    assert haiku["anthropic-ratelimit-output-tokens-limit"] == "10000"


@given(
    limit=st.integers(1, 200_000),
    used=st.lists(st.integers(0, 100_000), max_size=4),
)
@settings(max_examples=100)
def test_token_remaining_rounds_to_the_thousand_exact_below_it(limit: int, used: list[int]) -> None:
    limiter = RateLimiter(input_tokens_per_minute=limit)
    for amount in used:
        headers = headers_of(limiter.admit(OPUS, NOW, input_tokens=amount, output_tokens=0))
    left = max(0, limit - sum(used))
    expected = left if left < 1000 else min(limit, round(left / 1000 + 1e-9) * 1000)
    if used:
        assert headers["anthropic-ratelimit-input-tokens-remaining"] == str(expected)


def test_reset_is_when_the_bucket_is_full_whole_seconds_rounded_up() -> None:
    limiter = RateLimiter(requests_per_minute=4, input_tokens_per_minute=600)
    headers = headers_of(limiter.admit(OPUS, NOW + 0.3, input_tokens=100, output_tokens=0))
    requests_full = parse_rfc3339(headers["anthropic-ratelimit-requests-reset"])
    assert requests_full == math.ceil(NOW + 0.3 + 15)  # 1 request back at 4 a minute
    input_full = parse_rfc3339(headers["anthropic-ratelimit-input-tokens-reset"])
    assert input_full == math.ceil(NOW + 0.3 + 10)
    output_full = parse_rfc3339(headers["anthropic-ratelimit-output-tokens-reset"])
    assert output_full == math.ceil(NOW + 0.3)  # full already: now, rounded up
    assert (
        headers["anthropic-ratelimit-tokens-reset"]
        == (headers["anthropic-ratelimit-input-tokens-reset"])
    )


def test_reset_with_a_short_minute_has_milliseconds() -> None:
    limiter = RateLimiter(requests_per_minute=4, minute_seconds=5)
    headers = headers_of(limiter.admit(OPUS, NOW, input_tokens=0, output_tokens=0))
    reset = headers["anthropic-ratelimit-requests-reset"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", reset)
    assert reset.endswith(".250Z")  # a quarter of a 5 s minute: 1.25 s
    assert parse_rfc3339(reset) == pytest.approx(NOW + 1.25)


# --- retry-after --------------------------------------------------------------------------

requests_st = st.lists(
    st.tuples(
        st.sampled_from((OPUS, HAIKU)),
        st.integers(0, 20_000),  # ms since the previous request
        st.integers(0, 3_000),  # input tokens
        st.integers(0, 1_500),  # output tokens
    ),
    min_size=1,
    max_size=30,
)


@given(requests=requests_st, minute=st.sampled_from((60.0, 5.0, 0.7)))
@settings(max_examples=60, deadline=None)
def test_retry_after_is_truthful(requests: list[tuple[str, int, int, int]], minute: float) -> None:
    limiter = RateLimiter(
        limits={"opus-4": (3, 4_000, 1_000), "haiku-4": (5, 6_000, 2_000)},
        minute_seconds=minute,
        enforce=True,
    )
    now = NOW
    for model, gap, i, o in requests:
        now += gap / 1000 * minute / 60
        try:
            limiter.admit(model, now, input_tokens=i, output_tokens=o)
            continue
        except RateLimited as refused:
            wait = refused.wait
        assert wait > 0
        after = math.ceil(wait)  # what `retry-after` says
        for later in (now + wait, now + after):  # exactly when due, and the whole seconds
            assert admit(copy.deepcopy(limiter), later, model, i, o)
        assert not admit(copy.deepcopy(limiter), now + wait * 0.9, model, i, o)


def test_the_429_has_the_envelope_retry_after_and_the_headers() -> None:
    emulator = Emulator(requests_per_minute=2, enforce_limits=True)
    assert isinstance(body_of(call(emulator, message(), NOW)), dict)
    assert isinstance(body_of(call(emulator, message(), NOW + 1)), dict)
    events = call(emulator, message(), NOW + 2)
    error = error_of(events)
    assert isinstance(error, wire.RateLimitError)
    assert error.type == "rate_limit_error"
    assert "2 requests per minute" in error.message
    assert "opus-4" in error.message
    head = events[0]
    # 1 request short, 2/60 of one back since: (1 - 2/30) * 30 = 28 s.
    assert head.header("retry-after") == "28"
    assert head.header("retry-after-ms") is None  # a real minute: as the API, seconds only
    assert head.header("anthropic-ratelimit-requests-remaining") == "0"
    assert head.header("anthropic-ratelimit-requests-limit") == "2"
    assert isinstance(body_of(call(emulator, message(), NOW + 2 + 28)), dict)


def test_a_short_minute_adds_retry_after_ms() -> None:
    emulator = Emulator(requests_per_minute=2, enforce_limits=True, minute_seconds=5)
    call(emulator, message(), NOW)
    call(emulator, message(), NOW)
    head = call(emulator, message(), NOW)[0]
    assert head.status == 429
    assert head.header("retry-after-ms") == "2500"  # one request's refill: 5 s / 2
    assert head.header("retry-after") == "3"  # whole seconds, never less


# --- minute_seconds -----------------------------------------------------------------------


@given(requests=requests_st, minute=st.sampled_from((5.0, 1.0, 0.25)))
@settings(max_examples=60, deadline=None)
def test_a_shorter_minute_scales_every_time_alike(
    requests: list[tuple[str, int, int, int]], minute: float
) -> None:
    """The same run on a 60 s minute and on a shorter one, every time scaled, admits the same.

    The clock starts at 1,000 s (not an epoch time) so float steps stay far below a token."""
    runs: list[list[Any]] = []
    for length in (60.0, minute):
        limiter = RateLimiter(
            limits={"opus-4": (3, 4_000, 1_000), "haiku-4": (5, 6_000, 2_000)},
            minute_seconds=length,
            enforce=True,
        )
        ms, outcome = 0, list[Any]()
        for model, gap, i, o in requests:
            ms += gap
            now = 1000.0 + ms / 1000 * length / 60
            try:
                headers = headers_of(limiter.admit(model, now, input_tokens=i, output_tokens=o))
            except RateLimited as refused:
                outcome.append((refused.axis, refused.wait * 60 / length))
            else:
                outcome.append({k: v for k, v in headers.items() if not k.endswith("-reset")})
        runs.append(outcome)
    for long, short in zip(*runs, strict=True):
        if isinstance(long, tuple):
            assert short[0] == long[0]
            assert short[1] == pytest.approx(long[1], rel=1e-9, abs=1e-6)
        else:
            assert short == long


# --- what the buckets do not see ----------------------------------------------------------


def test_batches_and_count_tokens_never_touch_the_buckets() -> None:
    emulator = Emulator(requests_per_minute=1, enforce_limits=True, batch_seconds=1.0)
    params = {"model": OPUS, "max_tokens": 20, "messages": HELLO}
    batch = build.create_batch(CFG, [{"custom_id": f"r{n}", "params": params} for n in range(5)])
    batch_id = body_of(call(emulator, batch, NOW))["id"]
    status = body_of(call(emulator, build.get_batch(CFG, batch_id), NOW + 5))
    assert status["processing_status"] == "ended"
    lines = call(emulator, build.batch_results(CFG, batch_id), NOW + 5)
    assert b"succeeded" in b"".join(e.data for e in lines if hasattr(e, "data"))
    for _ in range(3):
        counted = call(emulator, build.count_tokens(CFG, model=OPUS, messages=HELLO), NOW + 5)
        assert "anthropic-ratelimit-requests-remaining" not in dict(counted[0].headers)
    first = call(emulator, message(), NOW + 5)
    assert first[0].header("anthropic-ratelimit-requests-remaining") == "0"
    assert isinstance(error_of(call(emulator, message(), NOW + 5)), wire.RateLimitError)


def test_itpm_counts_input_and_cache_creation_tokens() -> None:
    emulator = Emulator(input_tokens_per_minute=100_000)
    events = call(emulator, message(), NOW)
    usage = body_of(events)["usage"]
    counted = usage["input_tokens"] + usage.get("cache_creation_input_tokens", 0)
    assert counted > 0
    remaining = int(events[0].header("anthropic-ratelimit-input-tokens-remaining"))
    assert remaining == (100_000 - counted + 500) // 1000 * 1000


# --- on loopback --------------------------------------------------------------------------


def test_wire_sync_gets_a_rate_limit_error_with_retry_after() -> None:
    from wire.sync import Client
    from wire.testing import serve

    with (
        serve(enforce_limits=True, tier=1) as server,
        Client("sk-test", base_url=server.base_url, max_retries=0, proxy=None) as client,
    ):
        for _ in range(25):
            client.create_message(model=OPUS, max_tokens=5, messages=HELLO)
        with pytest.raises(wire.RateLimitError) as info:
            client.create_message(model=OPUS, max_tokens=5, messages=HELLO)
        client.create_message(model=HAIKU, max_tokens=5, messages=HELLO)  # its own class
    limits = wire.RateLimits.from_headers(info.value.headers)
    assert limits.retry_after is not None
    assert 1 <= limits.retry_after <= 3  # 60 s / 25 a request
    assert limits.requests.limit == 25
    assert limits.requests.remaining == 0


def test_the_official_sdk_retries_the_429_and_succeeds_once_refilled() -> None:
    anthropic = pytest.importorskip("anthropic")
    from wire.testing import serve

    with serve(enforce_limits=True, requests_per_minute=2, minute_seconds=1) as server:
        client = anthropic.Anthropic(api_key="sk-test", base_url=server.base_url, max_retries=2)
        with client:
            for _ in range(3):  # the third is refused, waits `retry-after-ms` (~0.5 s), passes
                reply: Any = client.messages.create(model=OPUS, max_tokens=5, messages=HELLO)
                assert reply.content
        assert server.emulator.requests_seen > 3  # at least one 429 was answered and retried


def test_wire_serve_passes_tier_and_minute_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("trio")
    import wire.testing.server
    from wire.cli import main

    seen: dict[str, Any] = {}
    monkeypatch.setattr(wire.testing.server, "run", lambda *args, **options: seen.update(options))
    argv = ["serve", "--port", "0", "--enforce-limits", "--tier", "1", "--minute-seconds", "5"]
    assert main(argv) == 0
    assert (seen["enforce_limits"], seen["tier"], seen["minute_seconds"]) == (True, 1, 5.0)
    limiter = Emulator(**{k: seen[k] for k in ("enforce_limits", "tier", "minute_seconds")})
    assert limiter.rate_limits.limits_for("opus-4") == TIERS[1]["opus-4"]
    assert main(["serve"]) == 0
    assert (seen["tier"], seen["minute_seconds"]) == (None, 60.0)


@pytest.mark.parametrize(
    ("option", "error"),
    [
        (["--tier", "5"], "argument --tier: invalid choice: 5"),
        (["--minute-seconds", "0"], "argument --minute-seconds: '0' is not a number of seconds"),
    ],
)
def test_wire_serve_refuses_bad_limit_options(
    option: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from wire.cli import main

    assert main(["serve", *option]) == 2
    assert error in capsys.readouterr().err
