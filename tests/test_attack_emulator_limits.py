"""The emulator's rate limits attacked: hostile sizes, model ids and minutes.

Whatever a request books (a `reply=long` stream may book any `max_tokens`) and whatever
`minute_seconds` a test picks within its range, every answer carries headers a client can
parse, every refusal a finite wait, and state stays bounded: never a 500.
"""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wire
from wire.testing import serve
from wire.testing.ratelimits import MAX_CLASSES, RateLimited, RateLimiter

HEADERS = {"x-api-key": "sk-test", "anthropic-version": "2023-06-01"}
axes = ("requests", "input_tokens", "output_tokens")

steps = st.tuples(
    st.sampled_from(["claude-opus-4-6", "claude-haiku-4-5", "claude-x" + "q" * 300]),
    st.integers(0, 10**30),  # input tokens
    st.integers(0, 10**30),  # output tokens (a long stream's max_tokens)
    st.floats(0.0, 1e9),  # time passing
)


@given(
    minute=st.one_of(st.floats(1e-300, 1e6), st.sampled_from([5e-324, 1e-9, 1e6])),
    enforce=st.booleans(),
    requests=st.lists(steps, min_size=1, max_size=8),
)
@settings(max_examples=60, deadline=None)
def test_headers_always_parse_and_waits_are_finite(
    minute: float, enforce: bool, requests: list[tuple[str, int, int, float]]
) -> None:
    limiter = RateLimiter(minute_seconds=minute, enforce=enforce, tier=1)
    now = 1.7e9
    for model, inputs, outputs, step in requests:
        now += step
        wait = 0.0
        try:
            headers = limiter.admit(model, now, input_tokens=inputs, output_tokens=outputs)
        except RateLimited as refused:
            wait, headers = refused.wait, refused.headers
        assert math.isfinite(wait)
        assert wait >= 0
        parsed = wire.RateLimits.from_headers(headers)
        for axis in axes:
            part = getattr(parsed, axis)
            assert part.limit is not None
            assert part.remaining is not None
            assert part.reset is not None


@pytest.mark.parametrize("minute", [1e6 * 1.01, 1e300, math.inf, math.nan, 0.0, -1.0])
def test_minute_seconds_out_of_range_is_a_value_error(minute: float) -> None:
    with pytest.raises(ValueError, match="minute_seconds"):
        RateLimiter(minute_seconds=minute)


def test_thousands_of_model_ids_keep_bounded_state() -> None:
    limiter = RateLimiter()
    for n in range(3 * MAX_CLASSES):
        limiter.admit(
            f"claude-{'abcdefghij'[n % 10]}{n}" + "z" * 1000, 1.7e9, input_tokens=1, output_tokens=1
        )
    assert len(limiter._classes) <= MAX_CLASSES


def _post(client: httpx.Client, max_tokens: int, fault: str | None = None) -> int:
    headers = {**HEADERS, **({"x-wire-fault": fault} if fault else {})}
    body: dict[str, Any] = {
        "model": "claude-opus-4-6",
        "max_tokens": max_tokens,
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
    }
    with client.stream("POST", "/v1/messages", json=body, headers=headers) as response:
        for _ in response.iter_bytes():
            break  # a long stream is left after its first read
        return response.status_code


@pytest.mark.parametrize("max_tokens", [10**15, 10**30])
def test_a_huge_long_stream_never_makes_a_500(max_tokens: int) -> None:
    with serve() as server, httpx.Client(base_url=server.base_url, timeout=30) as client:
        assert _post(client, max_tokens, "reply=long") in (200, 400)
        assert _post(client, 10) == 200  # the class goes on, its reset far ahead
