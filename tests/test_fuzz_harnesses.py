"""The fuzz harnesses' invariants without atheris: seeds, chosen inputs, and hypothesis.

Each `fuzz/fuzz_*.py` exposes `check(data: bytes)`, which raises when an
invariant breaks (see fuzz/README.md). CI runs them here on the seed corpora
and a small hypothesis budget; atheris explores far more (`python fuzz/...`).
The wire bugs the fuzzers found stay here as regression tests.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `fuzz` is a directory at the repo root
    sys.path.insert(0, str(ROOT))

import wire  # noqa: E402
from fuzz import fuzz_http, fuzz_partial_json, fuzz_sse, fuzz_stream  # noqa: E402
from fuzz._common import SEEDS, chunks, make_input, same, split_input  # noqa: E402

HARNESSES: dict[str, Callable[[bytes], None]] = {
    "sse": fuzz_sse.check,
    "json": fuzz_partial_json.check,
    "stream": fuzz_stream.check,
    "http": fuzz_http.check,
}

BUDGET = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- the input layout -----------------------------------------------------------------


def test_input_layout_round_trips() -> None:
    data = make_input(b"data: x\n\n", [1, 0, 62], flags=5)
    assert data[:4].decode().isprintable()
    fuzz = split_input(data)
    assert (fuzz.flags, fuzz.sizes, fuzz.payload) == (5, (1, 0, 62), b"data: x\n\n")
    assert split_input(b"") == split_input(b"\x00")


def test_chunks_cover_the_payload() -> None:
    assert chunks(b"abcdefg", [2, 0, 3]) == [b"ab", b"", b"cde", b"fg"]
    assert chunks("abc", [0, 0]) == ["", "", "", "abc"]
    assert chunks(b"", [1]) == [b""]
    assert chunks(b"abc", []) == [b"abc"]


def test_same_is_type_and_order_strict() -> None:
    assert same({"a": [1, 2.0]}, {"a": [1, 2.0]})
    assert not same(1, 1.0)
    assert not same(1, True)
    assert not same({"a": 1, "b": 2}, {"b": 2, "a": 1})
    assert same({"a": 1, "b": 2}, {"b": 2, "a": 1}, ordered=False)
    assert same(float("nan"), float("nan"))


# --- seeds and chosen inputs ----------------------------------------------------------


def _seeds() -> list[tuple[str, Path]]:
    return [(kind, path) for kind in HARNESSES for path in sorted((SEEDS / kind).iterdir())]


@pytest.mark.parametrize(("kind", "path"), _seeds(), ids=lambda x: getattr(x, "name", x))
def test_seed(kind: str, path: Path) -> None:
    HARNESSES[kind](path.read_bytes())


SSE_CASES = [
    b"",
    b"data: x\r:\n\n",  # found by fuzz_sse: cut after ':', a stale CR flag ate the LF
    b"a\rb\ndata: x\n\n",
    b"\xef\xbb\xbf",
    b"\xef\xbb",
    b"\xef\xbb\xbf\xef\xbb\xbfdata: second BOM is data\n\n",
    b"data: a\r\n\r\ndata: b\r\rdata: c\n\n",
    b"data: \xff\xfe\xe2\x82\n\n",
    b"id: 1\x00\ndata: x\n\nid: 2\n\n",
    b"retry: 10\n\nretry: x1\ndata: y\n\n" + b"retry: " + b"0" * 4500 + b"7\n\n",
    b"data: " + b"x" * 70 + b"\n\n",
    (b"data: " + b"y" * 50 + b"\n") * 6 + b"\n",
]


@pytest.mark.parametrize("stream", SSE_CASES)
@pytest.mark.parametrize("sizes", [[], [1], [2, 1], [7, 0, 3]])
@pytest.mark.parametrize("flags", [2, 3, 4, 5])
def test_sse_cases(stream: bytes, sizes: list[int], flags: int) -> None:
    fuzz_sse.check(make_input(stream, sizes, flags))


JSON_CASES = [
    "{}",
    ' {"a": [1, -0, 0.5, 1e400, {"b": null}], "c": "\\u00e9\\ud83d\\ude00"} ',
    '{"a": 1, "a": {"b": 2}}',
    '{"a": 1',
    '{"a": "\\ud800"}',
    '{"a": NaN}',
    '{"a": 1}x',
    "[1]",
    "\ufeff{}",
    '{"a": [' * 300 + "]}" * 300,
    "{" + '"a":{' * 511 + "}" * 512,
    "{" + '"a":{' * 512 + "}" * 513,
    '{"n": ' + "1" * 4301 + "}",
]


@pytest.mark.parametrize("text", JSON_CASES, ids=lambda t: t[:24])
@pytest.mark.parametrize("sizes", [[], [1], [3, 1, 7]])
def test_json_cases(text: str, sizes: list[int]) -> None:
    fuzz_partial_json.check(make_input(text.encode(), sizes))


def _tool_use_stream() -> bytes:
    return (SEEDS / "stream" / "tool_use.sse").read_bytes()[6:]  # drop header and sizes


@pytest.mark.parametrize("sizes", [[], [1], [5, 13], [0, 61]])
def test_stream_sample(sizes: list[int]) -> None:
    fuzz_stream.check(make_input(_tool_use_stream(), sizes))


def test_stream_truncated_sample() -> None:
    stream = _tool_use_stream()
    for cut in (len(stream) // 3, len(stream) // 2, len(stream) - 5):
        fuzz_stream.check(make_input(stream[:cut], [3, 1]))


# --- hypothesis ---------------------------------------------------------------------


@BUDGET
@given(st.binary(max_size=512))
def test_sse_random_bytes(data: bytes) -> None:
    fuzz_sse.check(data)


_FIELD_LINE = st.sampled_from(
    [
        b"data: x",
        b"data:",
        b"data",
        b"data:  two",
        b"event: e",
        b"event",
        b"id: 7",
        b"id",
        b"id: a\x00b",
        b"retry: 15",
        b"retry: 1x",
        b": comment",
        b"other: z",
        b"",
        b"\xef\xbb\xbf",
        "data: \u00e9\u6771".encode(),
    ]
)
_SSE_TEXT = st.lists(
    st.tuples(_FIELD_LINE, st.sampled_from([b"\n", b"\r", b"\r\n"])), max_size=30
).map(lambda lines: b"".join(a + b for a, b in lines))


@BUDGET
@given(_SSE_TEXT, st.lists(st.integers(0, 62), max_size=15), st.integers(0, 15))
def test_sse_field_streams(stream: bytes, sizes: list[int], flags: int) -> None:
    fuzz_sse.check(make_input(stream, sizes, flags))


@BUDGET
@given(st.binary(max_size=512))
def test_partial_json_random_bytes(data: bytes) -> None:
    fuzz_partial_json.check(data)


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=20,
)


@BUDGET
@given(
    st.dictionaries(st.text(max_size=4), _JSON, max_size=5),
    st.lists(st.integers(0, 62), max_size=15),
    st.booleans(),
    st.booleans(),
)
def test_partial_json_objects(
    obj: dict[str, object], sizes: list[int], indent: bool, ascii_only: bool
) -> None:
    text = json.dumps(obj, indent=1 if indent else None, ensure_ascii=ascii_only)
    fuzz_partial_json.check(make_input(text.encode(), sizes))


@BUDGET
@given(st.binary(max_size=512))
def test_stream_random_bytes(data: bytes) -> None:
    fuzz_stream.check(data)


@BUDGET
@given(st.binary(max_size=256), st.lists(st.integers(0, 62), max_size=15))
def test_stream_programs(program: bytes, sizes: list[int]) -> None:
    fuzz_stream.check(make_input(program, sizes, flags=3))


_HTTP_SEEDS = sorted(p.read_bytes() for p in (SEEDS / "http").iterdir())


@BUDGET
@given(st.binary(max_size=300))
def test_http_random_bytes(data: bytes) -> None:
    fuzz_http.check(data)


@settings(BUDGET, max_examples=100)
@given(st.sampled_from(_HTTP_SEEDS), st.data())
def test_http_mutated_seeds(seed: bytes, data: st.DataObject) -> None:
    """A seed response with a few bytes changed, cut short, or followed by more bytes.

    (st.binary beside st.integers in one test trips hypothesis's own cache under
    `python -bb`: it compares b"" with 0.)
    """
    raw = bytearray(seed)
    for _ in range(data.draw(st.integers(0, 3))):
        at = data.draw(st.integers(1, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    tail = data.draw(st.lists(st.integers(0, 255), max_size=20))  # not st.binary: see below
    raw = raw[: data.draw(st.integers(1, len(raw)))] + bytes(tail)
    fuzz_http.check(bytes(raw))


# --- wire bugs the fuzzers found, kept as regression tests ------------------------------


def test_snapshot_leaves_out_a_huge_unfinished_int() -> None:
    """Found by reasoning on fuzz_partial_json's invariant: snapshot() raised ValueError."""
    fuzz_partial_json.check(make_input(b'{"n": ' + b"1" * 4301))


def test_stream_error_order() -> None:
    """Found by fuzz_stream: the whole chunk was parsed before any event was applied, so
    a later non-JSON event's EventDecodeError hid the tool input error that came first."""
    start = {
        "type": "message_start",
        "message": {
            "id": "m",
            "type": "message",
            "role": "assistant",
            "model": "x",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": 1},
        },
    }
    events = [
        ("message_start", json.dumps(start)),
        (
            "content_block_start",
            '{"type":"content_block_start","index":0,"content_block":'
            '{"type":"tool_use","id":"t","name":"f","input":{}}}',
        ),
        (
            "content_block_delta",
            '{"type":"content_block_delta","index":0,"delta":'
            '{"type":"input_json_delta","partial_json":"{"}}',
        ),
        ("content_block_stop", '{"type":"content_block_stop","index":0}'),
        ("ping", "not json"),
    ]
    stream = b"".join(wire.encode_sse(data, event=name) for name, data in events)
    fuzz_stream.check(make_input(stream))


def test_deep_to_dict() -> None:
    """Found by fuzz_stream's invariant: to_dict() recursed (RecursionError at depth ~600)."""
    data = '{"type": "ping", "x": ' + "[" * 600 + "]" * 600 + "}"
    fuzz_stream.check(make_input(wire.encode_sse(data, event="ping")))
