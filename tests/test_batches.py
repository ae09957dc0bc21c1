"""Models, batches, pages and the batch results decoder: exact `to_dict()`, JSONL chunking,
limits, errors naming their line."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import splits
from wire._batches import (
    DEFAULT_MAX_RESULT_LINE_BYTES,
    BatchResult,
    CanceledResult,
    DeletedMessageBatch,
    ErroredResult,
    ExpiredResult,
    JSONLDecodeError,
    JSONLDecoder,
    JSONLError,
    JSONLLineTooLongError,
    MessageBatch,
    Model,
    Page,
    RequestCounts,
    SucceededResult,
    UnknownResult,
    result_from_dict,
)
from wire._errors import (
    EventDecodeError,
    InvalidParameterError,
    LocalProtocolError,
    RemoteProtocolError,
)
from wire._message import Message
from wire.testing.strategies import chunkings, json_objects, messages

MODEL = {
    "type": "model",
    "id": "claude-opus-4-6",
    "display_name": "Claude Opus 4.6",
    "created_at": "2026-02-04T00:00:00Z",
}
MODEL_FULL = {
    **MODEL,
    "lifecycle": "active",
    "deprecated_at": None,
    "retires_at": None,
    "line": "opus",
    "max_input_tokens": 1_000_000,
    "max_tokens": 128_000,
    "capabilities": {"batch": {"supported": True}},
}
BATCH = {
    "id": "msgbatch_013Zva2CMHLNnXjNJJKqJ2EF",
    "type": "message_batch",
    "processing_status": "in_progress",
    "request_counts": {"processing": 2, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0},
    "created_at": "2026-08-20T18:37:24.100435Z",
    "expires_at": "2026-08-21T18:37:24.100435Z",
    "ended_at": None,
    "cancel_initiated_at": None,
    "archived_at": None,
    "results_url": None,
}
ENDED = {
    **BATCH,
    "processing_status": "ended",
    "request_counts": {"processing": 0, "succeeded": 1, "errored": 1, "canceled": 0, "expired": 0},
    "ended_at": "2026-08-20T19:00:00Z",
    "results_url": "https://api.anthropic.com/v1/messages/batches/msgbatch_01/results",
}
MESSAGE = {
    "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
    "type": "message",
    "role": "assistant",
    "model": "claude-opus-4-6",
    "content": [{"type": "text", "text": "Hello!"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 12,
        "output_tokens": 6,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "service_tier": "batch",
    },
}
ENVELOPE = {
    "type": "error",
    "error": {"type": "invalid_request_error", "message": "bad"},
    "request_id": "req_011",
}
RESULTS = [
    {"custom_id": "req-1", "result": {"type": "succeeded", "message": MESSAGE}},
    {"custom_id": "req-2", "result": {"type": "errored", "error": ENVELOPE}},
    {"custom_id": "req-3", "result": {"type": "canceled"}},
    {"custom_id": "req-4", "result": {"type": "expired"}},
]


def jsonl(objs: list[Any], eol: str = "\n") -> bytes:
    return "".join(json.dumps(o) + eol for o in objs).encode()


def decode(chunks: list[bytes], **limits: int) -> list[BatchResult]:
    decoder = JSONLDecoder(**limits)
    out: list[BatchResult] = []
    for chunk in chunks:
        out.extend(decoder.feed(chunk))
    out.extend(decoder.close())
    return out


# --- exact round trips -----------------------------------------------------------------


@pytest.mark.parametrize(
    "d", [MODEL, MODEL_FULL, {**MODEL, "future": [1, {"x": None}]}, {"id": "m"}, {}]
)
def test_model_round_trip(d: dict[str, Any]) -> None:
    assert Model.from_dict(d).to_dict() == d


def test_model_fields() -> None:
    model = Model.from_dict(MODEL_FULL)
    assert (model.id, model.display_name, model.created_at) == (
        "claude-opus-4-6",
        "Claude Opus 4.6",
        "2026-02-04T00:00:00Z",
    )
    assert model.lifecycle == "active"
    assert model.extra["capabilities"] == {"batch": {"supported": True}}
    assert Model.from_dict(MODEL).lifecycle is None


def test_missing_keys_are_not_invented() -> None:
    model = Model.from_dict({"id": "m"})
    assert model.omitted == {"type", "display_name", "created_at"}
    assert model.to_dict() == {"id": "m"}


@pytest.mark.parametrize(
    "d",
    [
        BATCH,
        ENDED,
        {**BATCH, "new_key": {"a": 1}},
        {**BATCH, "request_counts": {"processing": 1, "later": 2}},
        {"id": "msgbatch_x", "type": "message_batch"},
    ],
)
def test_batch_round_trip(d: dict[str, Any]) -> None:
    assert MessageBatch.from_dict(d).to_dict() == d


def test_batch_fields() -> None:
    batch = MessageBatch.from_dict(ENDED)
    assert batch.processing_status == "ended"
    assert batch.request_counts == RequestCounts(succeeded=1, errored=1)
    assert batch.request_counts.total == 2
    assert batch.results_url == ENDED["results_url"]
    assert (batch.ended_at, batch.cancel_initiated_at, batch.archived_at) == (
        "2026-08-20T19:00:00Z",
        None,
        None,
    )
    assert MessageBatch.from_dict(BATCH).results_url is None


def test_deleted_batch_round_trip() -> None:
    d = {"id": "msgbatch_01", "type": "message_batch_deleted"}
    deleted = DeletedMessageBatch.from_dict(d)
    assert deleted.id == "msgbatch_01"
    assert deleted.to_dict() == d
    assert DeletedMessageBatch.from_dict({**d, "x": 1}).to_dict() == {**d, "x": 1}


def test_page_of_models() -> None:
    body = {
        "data": [MODEL, MODEL_FULL],
        "has_more": True,
        "first_id": "claude-opus-4-6",
        "last_id": "claude-haiku-4-5",
    }
    page = Page.from_dict(body, Model.from_dict)
    assert page.data == (Model.from_dict(MODEL), Model.from_dict(MODEL_FULL))
    assert page.to_dict() == body
    assert page.next_after_id == "claude-haiku-4-5"
    assert page.next_before_id == "claude-opus-4-6"


def test_page_of_batches_with_extra() -> None:
    body = {
        "data": [BATCH, ENDED],
        "has_more": False,
        "first_id": BATCH["id"],
        "last_id": ENDED["id"],
        "cursor_v2": "abc",
    }
    page = Page.from_dict(body, MessageBatch.from_dict)
    assert isinstance(page.data[1], MessageBatch)
    assert page.to_dict() == body
    assert page.next_after_id is None


@pytest.mark.parametrize(
    ("body", "after"),
    [
        ({"data": [MODEL], "has_more": True, "first_id": "a", "last_id": "b"}, "b"),
        ({"data": [MODEL], "has_more": False, "first_id": "a", "last_id": "b"}, None),
        ({"data": [], "has_more": True, "first_id": None, "last_id": None}, None),
        ({"data": [MODEL], "first_id": "a", "last_id": "b"}, "b"),  # no has_more: go on
        ({"data": [MODEL], "first_id": "a", "last_id": None}, None),
    ],
)
def test_page_follows_the_sdk_paging_rule(body: dict[str, Any], after: str | None) -> None:
    page = Page.from_dict(body, Model.from_dict)
    assert page.next_after_id == after
    assert page.to_dict() == body


@pytest.mark.parametrize(
    "d",
    [
        *RESULTS,
        {"custom_id": "a", "result": {"type": "canceled", "reason": "user"}},
        {"custom_id": "b", "result": {"type": "succeeded", "message": MESSAGE, "x": 1}, "y": [2]},
        {
            "custom_id": "c",
            "result": {"type": "errored", "error": {"type": "api_error", "message": "flat"}},
        },
        {"custom_id": "d", "result": {"type": "succeeded"}},
        {"custom_id": "e", "result": {"type": "paused", "resume_at": "2026-01-01T00:00:00Z"}},
    ],
)
def test_batch_result_round_trip(d: dict[str, Any]) -> None:
    assert BatchResult.from_dict(d).to_dict() == d


def test_the_four_result_kinds_and_an_unknown_one() -> None:
    kinds = [BatchResult.from_dict(d).result for d in RESULTS]
    assert kinds[0] == SucceededResult(message=Message.from_dict(MESSAGE))
    assert isinstance(kinds[0], SucceededResult)
    assert kinds[0].message.text == "Hello!"
    assert kinds[1] == ErroredResult(error=ENVELOPE)
    assert kinds[2] == CanceledResult()
    assert kinds[3] == ExpiredResult()
    unknown = result_from_dict({"type": "paused", "n": 1})
    assert unknown == UnknownResult(type="paused", extra={"n": 1})


def test_errored_result_properties() -> None:
    errored = ErroredResult(error=ENVELOPE)
    assert (errored.error_type, errored.error_message, errored.request_id) == (
        "invalid_request_error",
        "bad",
        "req_011",
    )
    flat = ErroredResult(error={"type": "overloaded_error", "message": "busy"})
    assert (flat.error_type, flat.error_message, flat.request_id) == (
        "overloaded_error",
        "busy",
        None,
    )
    assert (ErroredResult().error_type, ErroredResult().error_message) == (None, "")


def test_to_dict_returns_fresh_copies() -> None:
    result = BatchResult.from_dict(RESULTS[1])
    out = result.to_dict()
    out["result"]["error"]["error"]["message"] = "changed"
    assert result.to_dict() == RESULTS[1]


@pytest.mark.parametrize(
    ("parse", "d"),
    [
        (Model.from_dict, []),
        (Model.from_dict, {"id": 5}),
        (MessageBatch.from_dict, {**BATCH, "ended_at": 3}),
        (MessageBatch.from_dict, {**BATCH, "request_counts": []}),
        (MessageBatch.from_dict, {**BATCH, "request_counts": {"processing": "2"}}),
        (DeletedMessageBatch.from_dict, None),
        (BatchResult.from_dict, {"custom_id": "x"}),
        (BatchResult.from_dict, {"result": {"type": "canceled"}}),
        (BatchResult.from_dict, {"custom_id": 1, "result": {"type": "canceled"}}),
        (BatchResult.from_dict, {"custom_id": "x", "result": {"kind": "canceled"}}),
        (BatchResult.from_dict, {"custom_id": "x", "result": "canceled"}),
        (lambda d: Page.from_dict(d, Model.from_dict), {"data": {}}),
        (lambda d: Page.from_dict(d, Model.from_dict), {"data": [], "has_more": "yes"}),
        (lambda d: Page.from_dict(d, Model.from_dict), {"data": [1]}),
    ],
)
def test_wrong_shapes_are_remote_errors(parse: Any, d: Any) -> None:
    with pytest.raises(EventDecodeError):
        parse(d)


# --- JSONL decoding --------------------------------------------------------------------


def test_results_body_decodes() -> None:
    results = decode([jsonl(RESULTS)])
    assert [r.to_dict() for r in results] == RESULTS
    assert [r.custom_id for r in results] == ["req-1", "req-2", "req-3", "req-4"]


def test_every_split_of_a_small_body_agrees() -> None:
    objs = [
        {"custom_id": "é東🌤", "result": {"type": "canceled"}},
        {"custom_id": "b", "result": {"type": "expired", "note": "🌤"}},
    ]
    data = b"\r\n" + jsonl(objs, "\r\n")[:-2]  # blank first line, CRLF, no final line end
    expected = [BatchResult.from_dict(o) for o in objs]
    for chunks in splits(data):
        assert decode(chunks) == expected, chunks


def test_blank_lines_are_skipped_and_counted() -> None:
    data = b"\n  \n\r\n\t\r\n" + jsonl(RESULTS[2:3]) + b"\n\n[]\n"
    decoder = JSONLDecoder()
    assert decoder.feed(data) == [BatchResult.from_dict(RESULTS[2])]
    assert decoder.lines_read == 8
    with pytest.raises(JSONLDecodeError) as info:
        decoder.close()
    assert info.value.line == 8


def test_a_final_line_without_newline_is_a_result_at_close() -> None:
    decoder = JSONLDecoder()
    assert decoder.feed(jsonl(RESULTS[2:3]).rstrip(b"\n")) == []
    assert decoder.close() == [BatchResult.from_dict(RESULTS[2])]
    assert decoder.close() == []  # idempotent
    assert decoder.lines_read == 1


def test_leading_bom_is_dropped() -> None:
    assert decode([b"\xef\xbb", b"\xbf" + jsonl(RESULTS[3:])]) == [
        BatchResult.from_dict(RESULTS[3])
    ]


def test_invalid_utf8_decodes_to_replacement_character() -> None:
    data = b'{"custom_id": "a\xff", "result": {"type": "canceled"}}\n'
    assert decode([data])[0].custom_id == "a\ufffd"


def test_accepts_bytearray_and_memoryview() -> None:
    data = jsonl(RESULTS)
    decoder = JSONLDecoder()
    out = decoder.feed(bytearray(data[:100])) + decoder.feed(memoryview(data)[100:])
    assert out + decoder.close() == [BatchResult.from_dict(d) for d in RESULTS]


_RESULT_KINDS = st.one_of(
    messages().map(lambda m: {"type": "succeeded", "message": m}),
    st.sampled_from(["invalid_request_error", "api_error", "overloaded_error"]).map(
        lambda t: {
            "type": "errored",
            "error": {"type": "error", "error": {"type": t, "message": "…"}, "request_id": "req_1"},
        }
    ),
    st.just({"type": "canceled"}),
    st.just({"type": "expired"}),
    json_objects(max_leaves=4).map(lambda o: {**o, "type": "future_kind"}),
)
_LINES = st.fixed_dictionaries(
    {"custom_id": st.text(max_size=12), "result": _RESULT_KINDS},
    optional={"extra_key": json_objects(max_leaves=3)},
)


@st.composite
def results_bodies(draw: st.DrawFn) -> tuple[list[dict[str, Any]], bytes]:
    objs = draw(st.lists(_LINES, max_size=6))
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    blank = st.sampled_from(["", "", " ", "\t", "\r"])
    parts: list[str] = []
    for obj in objs:
        parts.extend(b + eol for b in draw(st.lists(blank, max_size=2)))
        parts.append(json.dumps(obj, ensure_ascii=draw(st.booleans())) + eol)
    parts.extend(b + eol for b in draw(st.lists(blank, max_size=2)))
    text = "".join(parts)
    if draw(st.booleans()):
        text = text.rstrip("\r\n \t")  # no final line end (and no trailing blank lines)
    return objs, text.encode()


@given(st.data())
def test_any_chunking_gives_the_generated_results(data: st.DataObject) -> None:
    objs, body = data.draw(results_bodies())
    whole = decode([body])
    assert [r.to_dict() for r in whole] == objs
    assert whole == [BatchResult.from_dict(o) for o in objs]
    assert decode(data.draw(chunkings(body))) == whole


def outcome(chunks: list[bytes], limit: int) -> tuple[list[BatchResult], tuple[Any, ...] | None]:
    """The results a consumer gets, then the error that stopped it (without chunk-bound facts)."""
    decoder = JSONLDecoder(max_line_bytes=limit)
    got: list[BatchResult] = []
    try:
        for chunk in chunks:
            got.extend(decoder.feed(chunk))
        got.extend(decoder.close())
    except JSONLLineTooLongError as exc:
        return got, ("too long", exc.line, exc.limit, exc.maximum, exc.size > exc.maximum)
    except JSONLDecodeError as exc:
        return got, ("bad", exc.line, exc.reason)
    return got, None


_JUNK = st.one_of(
    json_objects(max_leaves=6).map(lambda d: json.dumps(d).encode()),
    st.fixed_dictionaries(
        {"custom_id": json_objects(max_leaves=1), "result": json_objects(max_leaves=6)}
    ).map(lambda d: json.dumps(d).encode()),
    st.binary(max_size=30),
    st.sampled_from([b"", b"\r", b"\xef\xbb\xbf", b"\xe2\x82", b"[[[", b"{}"]),
)


@given(st.data())
def test_hostile_bodies_give_the_same_outcome_in_any_chunking(data: st.DataObject) -> None:
    """Only `JSONLError`s escape, and results-then-error does not depend on the chunking."""
    lines = [json.dumps(d).encode() for d in data.draw(st.lists(_LINES, max_size=5))]
    for _ in range(data.draw(st.integers(0, 2))):
        lines.insert(data.draw(st.integers(0, len(lines))), data.draw(_JUNK))
    body = b"".join(line + data.draw(st.sampled_from([b"\n", b"\r\n"])) for line in lines)
    if data.draw(st.booleans()):
        body = body[:-1]
    limit = data.draw(st.sampled_from([DEFAULT_MAX_RESULT_LINE_BYTES, 100, 1000]))
    whole = outcome([body], limit)
    assert outcome(data.draw(chunkings(body)), limit) == whole


# --- limits and errors -----------------------------------------------------------------


def test_default_line_limit_is_documented() -> None:
    assert JSONLDecoder().max_line_bytes == DEFAULT_MAX_RESULT_LINE_BYTES == 64 * 1024 * 1024


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_bad_limit_is_a_parameter_error(bad: Any) -> None:
    with pytest.raises(InvalidParameterError) as info:
        JSONLDecoder(max_line_bytes=bad)
    assert info.value.parameter == "max_line_bytes"
    assert isinstance(info.value, ValueError)


def test_line_at_the_limit_passes_one_past_fails() -> None:
    line = jsonl(RESULTS[2:3])
    size = len(line) - 1
    assert decode([line], max_line_bytes=size) == [BatchResult.from_dict(RESULTS[2])]
    with pytest.raises(JSONLLineTooLongError) as info:
        decode([line], max_line_bytes=size - 1)
    err = info.value
    assert (err.limit, err.maximum, err.size, err.line) == ("max_line_bytes", size - 1, size, 1)
    assert f"max_line_bytes={size - 1}" in str(err)
    assert isinstance(err, JSONLError)
    assert isinstance(err, RemoteProtocolError)


def test_unterminated_final_line_is_bounded_too() -> None:
    with pytest.raises(JSONLLineTooLongError):
        decode([b"x" * 11], max_line_bytes=10)


def test_long_line_in_small_chunks_fails_as_soon_as_it_passes_the_limit() -> None:
    limit = 1000
    decoder = JSONLDecoder(max_line_bytes=limit)
    assert decoder.feed(jsonl(RESULTS[2:3])) != []
    for _ in range(limit // 3):  # a peer that never sends a line end: 999 bytes held
        assert decoder.feed(b"[1,") == []
    with pytest.raises(JSONLLineTooLongError) as info:
        decoder.feed(b"[1,")  # 1002 bytes would be held: refused
    assert (info.value.line, info.value.maximum, info.value.size) == (2, limit, 1002)
    with pytest.raises(LocalProtocolError):
        decoder.feed(b"]\n")


def test_huge_chunk_is_refused_without_buffering() -> None:
    decoder = JSONLDecoder(max_line_bytes=100)
    with pytest.raises(JSONLLineTooLongError) as info:
        decoder.feed(b"{" * 10_000_000)
    assert info.value.size == 10_000_000


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "expected an object, not list"),
        (b'"str"', "expected an object, not str"),
        (b'{"custom_id": "x"}', "'result' is missing"),
        (b'{"result": {"type": "canceled"}}', "'custom_id' is missing"),
        (b'{"custom_id": "x", "result": {"type": 1}}', "'type' must be a string"),
        (
            b'{"custom_id": "x", "result": {"type": "succeeded", "message": {"content": 1}}}',
            "'content' must be a list",
        ),
        (b"[" * 100_000, "nested too deeply"),
        (b'{"custom_id": "x", "result": {"type": "canceled"}} {}', "not JSON"),
    ],
)
def test_bad_lines_name_their_line_number_and_why(line: bytes, reason: str) -> None:
    body = jsonl(RESULTS[2:4]) + b"\n" + line + b"\n" + jsonl(RESULTS[:1])
    with pytest.raises(JSONLDecodeError) as info:
        decode([body])
    assert info.value.line == 4
    assert reason in info.value.reason
    assert str(info.value).startswith("batch results line 4: ")
    for chunks in ([body], [body[:5], body[5:]], [bytes([b]) for b in body[:400]] + [body[400:]]):
        got, error = outcome(chunks, DEFAULT_MAX_RESULT_LINE_BYTES)
        assert got == [BatchResult.from_dict(d) for d in RESULTS[2:4]]  # none lost
        assert error == ("bad", 4, info.value.reason)


def test_error_after_results_is_raised_by_the_next_call() -> None:
    decoder = JSONLDecoder()
    assert len(decoder.feed(jsonl(RESULTS[2:3]) + b"oops\n")) == 1
    with pytest.raises(JSONLDecodeError):
        decoder.feed(b"")
    with pytest.raises(LocalProtocolError):
        decoder.feed(b"")
    assert decoder.close() == []


def test_pending_error_is_raised_by_close() -> None:
    decoder = JSONLDecoder()
    assert len(decoder.feed(jsonl(RESULTS[2:3]) + b"oops\n")) == 1
    with pytest.raises(JSONLDecodeError):
        decoder.close()


def test_bad_final_line_raises_at_close() -> None:
    decoder = JSONLDecoder()
    decoder.feed(b'{"custom_id": "x"')
    with pytest.raises(JSONLDecodeError) as info:
        decoder.close()
    assert info.value.line == 1


def test_feed_after_close_is_a_local_error() -> None:
    decoder = JSONLDecoder()
    decoder.close()
    with pytest.raises(LocalProtocolError, match="after close"):
        decoder.feed(b"{}\n")
