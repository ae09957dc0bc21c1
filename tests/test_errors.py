"""The exception tree: docs/errors.md against the code, every export under `WireError`,
typed parameter errors, and no key in any error text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import wire
import wire._batches
import wire._errors
import wire._partial_json

DOC = Path(__file__).resolve().parent.parent / "docs" / "errors.md"

EXPORTED = {
    name: value
    for name in wire.__all__
    if isinstance(value := getattr(wire, name), type) and issubclass(value, BaseException)
}
_ENTRY = re.compile(r"(?P<indent>[│├└─ ]*)(?P<name>[A-Za-z]\w*)(?P<rest>.*)")
_ALSO = re.compile(r"\balso an? ([A-Z]\w*)")


def documented_tree() -> dict[str, tuple[str, ...]]:
    """Each class in docs/errors.md's tree -> its bases as the tree says (parent first)."""
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"```text\n(.*?)```", text, re.DOTALL)
    assert block is not None, "docs/errors.md has no ```text tree"
    tree: dict[str, tuple[str, ...]] = {}
    path: list[str] = []  # the ancestors of the current line, by depth
    for line in block.group(1).splitlines():
        m = _ENTRY.fullmatch(line)
        assert m is not None, f"not a tree line: {line!r}"
        assert len(m["indent"]) % 4 == 0, f"not indented by 4s: {line!r}"
        depth = len(m["indent"]) // 4
        assert depth <= len(path), f"a line deeper than its parent: {line!r}"
        del path[depth:]
        name = m["name"]
        assert name not in tree, f"{name} is listed twice"
        parent = (path[-1],) if path else ()
        tree[name] = parent + tuple(_ALSO.findall(m["rest"]))
        path.append(name)
    return tree


def test_the_documented_tree_is_the_code_both_ways() -> None:
    tree = documented_tree()
    assert tree.pop("WireError") == ()
    code = {
        name: tuple(base.__name__ for base in cls.__bases__)
        for name, cls in EXPORTED.items()
        if cls is not wire.WireError
    }
    assert sorted(set(code) - set(tree)) == [], "exported but not in docs/errors.md"
    assert sorted(set(tree) - set(code)) == [], "in docs/errors.md but not exported"
    assert tree == code


def test_the_tree_parser_sees_a_missing_or_misplaced_class(tmp_path: Path) -> None:
    # The comparison above could only pass vacuously if the parser read nothing.
    tree = documented_tree()
    assert len(tree) == len(EXPORTED) >= 39
    assert tree["JSONLLineTooLongError"] == ("JSONLError", "SizeLimitError")
    assert tree["InvalidParameterError"] == ("LocalProtocolError", "ValueError")
    assert tree["OverloadedError"] == ("InternalServerError",)


def test_every_exported_exception_is_a_wire_error() -> None:
    outside = [name for name, cls in EXPORTED.items() if not issubclass(cls, wire.WireError)]
    assert outside == []


def test_every_exception_in_errors_py_is_exported_from_wire() -> None:
    defined = {
        name
        for name, value in vars(wire._errors).items()
        if isinstance(value, type) and issubclass(value, BaseException)
    }
    assert defined == set(EXPORTED)
    assert set(EXPORTED) <= set(wire._errors.__all__)


def test_moved_errors_stay_importable_from_their_old_modules() -> None:
    assert wire._partial_json.PartialJSONError is wire.PartialJSONError
    assert wire._batches.JSONLError is wire.JSONLError
    assert wire._batches.JSONLDecodeError is wire.JSONLDecodeError
    assert wire._batches.JSONLLineTooLongError is wire.JSONLLineTooLongError


def test_partial_json_error_is_a_remote_error_and_a_value_error() -> None:
    parser = wire.PartialJSONParser()
    parser.feed('{"a": ]')
    with pytest.raises(wire.RemoteProtocolError) as caught:
        parser.result()
    assert isinstance(caught.value, wire.PartialJSONError)
    assert isinstance(caught.value, ValueError)


def test_jsonl_line_too_long_is_a_size_limit_error_naming_the_line() -> None:
    decoder = wire.JSONLDecoder(max_line_bytes=8)
    assert decoder.feed(b"\n") == []
    with pytest.raises(wire.SizeLimitError) as caught:
        decoder.feed(b"x" * 20)
    error = caught.value
    assert isinstance(error, wire.JSONLLineTooLongError)
    assert isinstance(error, wire.JSONLError)
    assert (error.line, error.limit, error.maximum) == (2, "max_line_bytes", 8)
    assert error.size > 8
    assert "line 2" in str(error)
    assert "max_line_bytes=8" in str(error)


# --- typed parameter errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"max_line_bytes": 0}, "max_line_bytes"),
        ({"max_line_bytes": "8"}, "max_line_bytes"),
        ({"max_line_bytes": 8.0}, "max_line_bytes"),
        ({"max_event_bytes": True}, "max_event_bytes"),
        ({"max_event_bytes": None}, "max_event_bytes"),
        ({"max_event_bytes": -1}, "max_event_bytes"),
    ],
)
def test_sse_decoder_limits_are_checked(kwargs: dict[str, object], parameter: str) -> None:
    with pytest.raises(wire.InvalidParameterError) as caught:
        wire.SSEDecoder(**kwargs)  # type: ignore[arg-type]
    assert caught.value.parameter == parameter
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("args", "kwargs", "parameter"),
    [
        (("x",), {"event": "a\nb"}, "event"),
        (("x",), {"event": "a\rb"}, "event"),
        (("x",), {"event": 5}, "event"),
        (("x",), {"event": "\udc80"}, "event"),
        (("x",), {"id": "1\n"}, "id"),
        (("x",), {"id": "a\0"}, "id"),
        (("x",), {"id": b"1"}, "id"),
        (("x",), {"retry": -1}, "retry"),
        (("x",), {"retry": True}, "retry"),
        (("x",), {"retry": "5"}, "retry"),
        ((b"x",), {}, "data"),
        ((None,), {}, "data"),
        (("a\ud800b",), {}, "data"),
    ],
)
def test_encode_sse_bad_values_name_the_parameter(
    args: tuple[object, ...], kwargs: dict[str, object], parameter: str
) -> None:
    with pytest.raises(wire.InvalidParameterError) as caught:
        wire.encode_sse(*args, **kwargs)  # type: ignore[arg-type]
    assert caught.value.parameter == parameter
    assert isinstance(caught.value, ValueError)


hostile = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.sampled_from([b"", b"x", b"\xff"]),  # drawn by index: bytes and str in one draw warn
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
)


@given(hostile, st.one_of(st.none(), hostile), st.one_of(st.none(), hostile), hostile)
def test_encode_sse_raises_only_parameter_errors(
    data: object, event: object, id: object, retry: object
) -> None:
    try:
        raw = wire.encode_sse(data, event=event, id=id, retry=retry)  # type: ignore[arg-type]
    except wire.InvalidParameterError:
        return
    assert isinstance(data, str)
    expected = data.replace("\r\n", "\n").replace("\r", "\n")
    events = wire.SSEDecoder().feed(raw)
    assert [e.data for e in events] == [expected]


# --- no key in any error text ------------------------------------------------------------------

KEY = "sk-ant-api03-Zx9Qw7Rt5Yu3Io1Pa8Sd6Fg4Hj2Kl0"
keys = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=12, max_size=40)


def error_from(status: int, key: str, envelope: bytes) -> wire.APIError:
    client = wire.ClientConnection("api.test")
    client.send_request(wire.Request("GET", "/v1/models", (("x-api-key", key),)))
    head = (
        f"HTTP/1.1 {status} No\r\nx-api-key: {key}\r\nauthorization: Bearer {key}\r\n"
        f"set-cookie: session={key}\r\ncontent-length: {len(envelope)}\r\n\r\n"
    )
    events = client.receive_data(head.encode() + envelope)
    (error,) = [e.error for e in events if isinstance(e, wire.ErrorResponse)]
    return error


@given(st.integers(400, 599), keys, st.sampled_from([b"", b"oops", b'{"type":"error"}']))
def test_errors_from_responses_carrying_a_key_never_show_it(
    status: int, key: str, envelope: bytes
) -> None:
    error = error_from(status, key, envelope)
    assert ("x-api-key", key) in error.headers  # kept for the caller, never shown
    assert key not in str(error)
    assert key not in repr(error)
    assert key not in repr(error.args)


def test_a_known_key_in_error_headers_is_not_shown() -> None:
    error = error_from(529, KEY, b'{"type":"error","error":{"type":"overloaded_error"}}')
    assert isinstance(error, wire.OverloadedError)
    assert KEY not in f"{error} {error!r}"
