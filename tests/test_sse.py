"""One readable test per WHATWG event-stream rule (HTML 9.2.6), each run in every chunking."""

from __future__ import annotations

import pytest

import wire
from tests.helpers import decode_all_ways, sse_events
from wire import ServerSentEvent as E


def test_event_and_data_fields_dispatch_on_blank_line() -> None:
    assert decode_all_ways(b"event: ping\ndata: {}\n\n") == [E(event="ping", data="{}")]


def test_type_defaults_to_message() -> None:
    assert decode_all_ways(b"data: hi\n\n") == [E(event="message", data="hi")]


def test_empty_event_field_means_message() -> None:
    assert decode_all_ways(b"event:\ndata: x\n\n") == [E(event="message", data="x")]


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending(eol: bytes) -> None:
    data = b"event: a" + eol + b"data: 1" + eol + b"data: 2" + eol + eol
    assert decode_all_ways(data) == [E(event="a", data="1\n2")]


def test_mixed_line_endings() -> None:
    data = b"data: a\rdata: b\r\ndata: c\n\r\n"
    assert decode_all_ways(data) == [E(data="a\nb\nc")]


def test_cr_then_lf_in_next_chunk_is_one_line_end() -> None:
    assert sse_events([b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"])[0] == [E(data="a\nb")]


def test_cr_dispatches_without_waiting_for_more_bytes() -> None:
    decoder = wire.SSEDecoder()
    assert decoder.feed(b"data: a\r\r") == [E(data="a")]


def test_lf_lf_after_cr_counts_one_blank_line() -> None:
    # "\r\n" is one line end; the next "\n" ends an empty line: one event, not two.
    assert decode_all_ways(b"data: a\r\n\ndata: b\n\n") == [E(data="a"), E(data="b")]


def test_leading_bom_is_dropped_once() -> None:
    assert decode_all_ways(b"\xef\xbb\xbfdata: a\n\n") == [E(data="a")]
    # A second BOM is part of the line: the field name becomes "\ufeffdata", ignored.
    assert decode_all_ways(b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\n") == []


def test_bom_later_in_stream_is_kept() -> None:
    assert decode_all_ways(b"data: \xef\xbb\xbfa\n\n") == [E(data="\ufeffa")]


def test_invalid_utf8_becomes_replacement_characters() -> None:
    events = decode_all_ways(b"data: \xff\xe2\x82 ok \xc3\n\n")
    assert events == [E(data="\ufffd\ufffd ok \ufffd")]


def test_multibyte_character_split_across_chunks() -> None:
    data = "data: São 東京 🌤\n\n".encode()
    assert decode_all_ways(data) == [E(data="São 東京 🌤")]


def test_comment_lines_are_ignored() -> None:
    assert decode_all_ways(b": keep-alive\ndata: x\n:\n\n") == [E(data="x")]


def test_field_without_colon_has_empty_value() -> None:
    assert decode_all_ways(b"data\ndata\n\n") == [E(data="\n")]
    assert decode_all_ways(b"data\n\n") == [E(data="")]


def test_only_one_space_after_colon_is_removed() -> None:
    assert decode_all_ways(b"data:  two\ndata:none\n\n") == [E(data=" two\nnone")]


def test_value_may_contain_colons() -> None:
    assert decode_all_ways(b"data: a: b:c\n\n") == [E(data="a: b:c")]


def test_unknown_fields_are_ignored() -> None:
    assert decode_all_ways(b"foo: bar\nDATA: no\ndata : no\ndata: yes\n\n") == [E(data="yes")]


def test_event_without_data_is_not_dispatched() -> None:
    assert decode_all_ways(b"event: x\n\nid: 3\n\n") == []


def test_event_type_resets_after_an_empty_dispatch() -> None:
    assert decode_all_ways(b"event: x\n\ndata: y\n\n") == [E(data="y")]


def test_trailing_lf_of_data_is_removed_once() -> None:
    assert decode_all_ways(b"data: a\ndata:\n\n") == [E(data="a\n")]


def test_last_event_id_persists_across_events() -> None:
    events = decode_all_ways(b"id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\n")
    assert [e.id for e in events] == ["1", "1", ""]


def test_id_is_committed_at_a_blank_line_even_without_dispatch() -> None:
    events, last = sse_events([b"id: 7\n\n"])
    assert (events, last) == ([], "7")


def test_id_of_an_unterminated_block_does_not_count() -> None:
    decoder = wire.SSEDecoder()
    decoder.feed(b"id: 1\ndata: a\n\nid: 2\ndata: b\n")
    decoder.close()
    assert decoder.last_event_id == "1"


def test_id_containing_nul_is_ignored() -> None:
    events = decode_all_ways(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n")
    assert [e.id for e in events] == ["1", "1"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"1500", 1500),
        (b"0", 0),
        (b"007", 7),
        (b"+5", None),
        (b"1_0", None),
        (b" 5", None),
        (b"5 ", None),
        (b"-1", None),
        (b"1.5", None),
        (b"", None),
        ("\u0661".encode(), None),
        (b"x", None),
    ],
)
def test_retry_only_when_all_ascii_digits(value: bytes, expected: int | None) -> None:
    decoder = wire.SSEDecoder()
    events = decoder.feed(b"retry: " + value + b"\ndata: x\n\n")
    assert decoder.retry == expected
    assert events == [E(data="x", retry=expected)]


def test_retry_is_per_block_on_events_but_persists_on_decoder() -> None:
    decoder = wire.SSEDecoder()
    events = decoder.feed(b"retry: 10\ndata: a\n\ndata: b\n\n")
    assert [e.retry for e in events] == [10, None]
    assert decoder.retry == 10


def test_huge_retry_value_is_ignored_not_raised() -> None:
    decoder = wire.SSEDecoder()
    decoder.feed(b"retry: " + b"9" * 5000 + b"\ndata: x\n\n")
    assert decoder.retry is None


def test_incomplete_event_is_discarded_at_close() -> None:
    decoder = wire.SSEDecoder()
    assert decoder.feed(b"data: a\n\ndata: b\n") == [E(data="a")]
    assert decoder.pending
    decoder.close()
    assert decoder.last_event_id == ""


def test_unterminated_last_line_is_not_a_line() -> None:
    decoder = wire.SSEDecoder()
    assert decoder.feed(b"data: a") == []
    assert decoder.pending
    decoder.close()


def test_pending_is_false_at_an_event_boundary() -> None:
    decoder = wire.SSEDecoder()
    decoder.feed(b"data: a\n\n")
    assert not decoder.pending


def test_empty_feed_is_harmless() -> None:
    decoder = wire.SSEDecoder()
    assert decoder.feed(b"") == []
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\n\n") == [E(data="a")]


def test_feed_after_close_is_a_local_error() -> None:
    decoder = wire.SSEDecoder()
    decoder.close()
    with pytest.raises(wire.LocalProtocolError):
        decoder.feed(b"data: a\n\n")


# --- limits -------------------------------------------------------------------------


def test_line_limit_on_a_line_in_progress() -> None:
    decoder = wire.SSEDecoder(max_line_bytes=16)
    decoder.feed(b"data: 0123456789")
    with pytest.raises(wire.LineTooLongError) as info:
        decoder.feed(b"x")
    assert info.value.limit == "max_line_bytes"
    assert info.value.maximum == 16
    assert "max_line_bytes" in str(info.value)
    assert isinstance(info.value, wire.SSEError)
    assert isinstance(info.value, wire.RemoteProtocolError)


def test_line_limit_on_a_complete_line_in_one_chunk() -> None:
    decoder = wire.SSEDecoder(max_line_bytes=16)
    with pytest.raises(wire.LineTooLongError):
        decoder.feed(b"data: " + b"x" * 100 + b"\n\n")


def test_line_at_exactly_the_limit_passes() -> None:
    line = b"data: " + b"x" * 10
    assert sse_events([line + b"\n\n"], max_line_bytes=len(line))[0] == [E(data="x" * 10)]


def test_event_limit_counts_all_data_lines() -> None:
    decoder = wire.SSEDecoder(max_event_bytes=10)
    with pytest.raises(wire.EventTooLargeError) as info:
        decoder.feed(b"data: 123456\ndata: 123456\n\n")
    assert info.value.limit == "max_event_bytes"


def test_event_limit_counts_utf8_bytes() -> None:
    ok = "é" * 5  # 10 bytes
    assert sse_events([f"data: {ok}\n\n".encode()], max_event_bytes=10)[0] == [E(data=ok)]
    with pytest.raises(wire.EventTooLargeError):
        sse_events([f"data: {ok}é\n\n".encode()], max_event_bytes=10)


def test_decoder_is_unusable_after_a_limit_breach() -> None:
    decoder = wire.SSEDecoder(max_line_bytes=4)
    with pytest.raises(wire.LineTooLongError):
        decoder.feed(b"data: long\n")
    with pytest.raises(wire.LocalProtocolError):
        decoder.feed(b"\n")


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_line_bytes"):
        wire.SSEDecoder(max_line_bytes=0)


# --- encode_sse -----------------------------------------------------------------------


def test_encode_sse_simple() -> None:
    assert wire.encode_sse("{}", event="ping") == b"event: ping\ndata: {}\n\n"


def test_encode_sse_all_fields_and_multiline() -> None:
    raw = wire.encode_sse("a\nb\r\nc", event="x", id="7", retry=10)
    assert raw == b"event: x\nid: 7\nretry: 10\ndata: a\ndata: b\ndata: c\n\n"
    assert sse_events([raw])[0] == [E(event="x", data="a\nb\nc", id="7", retry=10)]


def test_encode_sse_keeps_leading_spaces() -> None:
    raw = wire.encode_sse(" x", id=" y")
    assert sse_events([raw])[0] == [E(data=" x", id=" y")]


@pytest.mark.parametrize(
    "kwargs", [{"event": "a\nb"}, {"event": "a\rb"}, {"id": "1\n"}, {"id": "a\0"}, {"retry": -1}]
)
def test_encode_sse_refuses_unencodable_fields(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        wire.encode_sse("x", **kwargs)  # type: ignore[arg-type]


def test_cr_before_a_partial_line_does_not_swallow_its_lf() -> None:
    # Found by hypothesis: the CR ends "data::"; the LF in the next chunk ends "retry: 12".
    stream = b"data::\ndata::\rretry: 12\ndata\n\n"
    decoder = wire.SSEDecoder()
    events = decoder.feed(stream[:22]) + decoder.feed(stream[22:])
    assert decoder.retry == 12
    assert events == decode_all_ways(stream) == [E(data=":\n:\n", retry=12)]


def test_events_before_a_breach_come_first() -> None:
    decoder = wire.SSEDecoder(max_line_bytes=64)
    assert decoder.feed(b"data: a\n\ndata: " + b"x" * 100 + b"\n\n") == [E(data="a")]
    with pytest.raises(wire.LineTooLongError):
        decoder.close()


def test_the_first_breach_in_stream_order_wins_in_any_chunking() -> None:
    stream = (b"data: " + b"x" * 54 + b"\n") * 5 + b"\n" + b"y" * 100 + b"\n"
    for step in (1, 7, 64, len(stream)):
        with pytest.raises(wire.SSEError) as info:
            sse_events(
                (stream[i : i + step] for i in range(0, len(stream), step)),
                max_line_bytes=64,
                max_event_bytes=256,
            )
        assert type(info.value) is wire.EventTooLargeError, step
