"""`wire decode`: typed events as JSON lines, the accumulated message, one-line errors."""

from __future__ import annotations

import contextlib
import io
import json
import math
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import wire
from wire import cli
from wire.cli import main

SAMPLE = resources.files("wire") / "samples" / "tool_use.sse"


def test_decode_prints_one_event_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "--sample", "tool_use"]) == 0
    lines = capsys.readouterr().out.splitlines()
    events = [json.loads(line) for line in lines]
    assert events[0]["type"] == "message_start"
    assert events[-1] == {"type": "message_stop"}


def test_decode_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "--message", str(SAMPLE)]) == 0
    message = json.loads(capsys.readouterr().out)
    assert message["stop_reason"] == "tool_use"
    assert message["content"][1]["input"] == {"location": "Paris, FR", "unit": "celsius", "days": 3}


def test_truncated_capture_prints_partial_message_and_one_line_error(tmp_path: Path) -> None:
    cut = tmp_path / "cut.sse"
    cut.write_bytes(SAMPLE.read_bytes()[:2000])
    out = subprocess.run(
        [sys.executable, "-m", "wire", "decode", "--message", str(cut)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1
    assert json.loads(out.stdout)["stop_reason"] is None
    assert out.stderr.count("\n") == 1
    assert "IncompleteStreamError" in out.stderr
    assert "Traceback" not in out.stderr


def test_missing_file_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["decode", str(tmp_path / "nope.sse")]) == 1
    assert capsys.readouterr().err.startswith("wire: error:")


def test_closed_pipe_is_quiet(tmp_path: Path) -> None:
    big = tmp_path / "big.sse"
    big.write_bytes(SAMPLE.read_bytes() * 300)  # more output than a pipe buffers
    proc = subprocess.Popen(
        [sys.executable, "-m", "wire", "decode", str(big)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    assert proc.wait(timeout=60) == 141
    assert proc.stderr.read() == b""
    proc.stderr.close()


def test_demo_streams_from_the_emulator_offline() -> None:
    pytest.importorskip("trio")
    out = subprocess.run(
        [sys.executable, "-m", "wire", "demo", "--pace", "0", "hello", "there"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "streaming a reply to 'hello there'" in out.stdout
    assert "hello there" in out.stdout.split("\n\n")[1]  # the reply quotes the prompt
    assert "stop reason: end_turn" in out.stdout
    assert "time to first token" in out.stdout


# --- issue 12 item 10: the output is strict JSON, whatever the capture held ------------------


def _refuse(token: str) -> None:
    raise AssertionError(f"not JSON: {token}")


def strict(line: str) -> object:
    """`line` parsed as RFC 8259 JSON: no NaN/Infinity tokens, and encodable as UTF-8."""
    line.encode("utf-8")  # a lone surrogate here is what made the traceback
    return json.loads(line, parse_constant=_refuse)


def message_start(usage_extra: str) -> bytes:
    return (
        b'data: {"type":"message_start","message":{"id":"m","type":"message",'
        b'"role":"assistant","content":[],"model":"x","stop_reason":null,'
        b'"stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1,'
        + usage_extra.encode()
        + b"}}}\n\n"
    )


def text_block(text_json: str) -> bytes:
    return (
        b'data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":'
        + text_json.encode()
        + b"}}\n\n"
    )


def test_lone_surrogate_is_printed_as_its_escape(tmp_path: Path) -> None:
    capture = tmp_path / "s.sse"
    capture.write_bytes(message_start('"n":0') + text_block(r'"a\ud800b"'))
    out = subprocess.run(
        [sys.executable, "-m", "wire", "decode", str(capture)], capture_output=True, timeout=60
    )
    assert b"Traceback" not in out.stderr
    assert out.returncode == 1  # the capture ends before message_stop
    lines = out.stdout.decode("utf-8").splitlines()
    assert r'"text": "a\ud800b"' in lines[1]
    assert strict(lines[1]) == {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": "a\ud800b"},
    }


def test_out_of_range_numbers_stay_json_numbers(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    capture = tmp_path / "n.sse"
    extra = '"big":1e999,"small":-1e999,"nan":NaN,"inf":Infinity,"s":"1e999"'
    capture.write_bytes(message_start(extra) + b'data: {"type":"message_stop"}\n\n')
    assert main(["decode", str(capture)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert '"big": 1e999, "small": -1e999, "nan": null, "inf": 1e999, "s": "1e999"' in first
    usage = strict(first)["message"]["usage"]  # type: ignore[index]
    assert usage["big"] == math.inf
    assert usage["small"] == -math.inf
    assert usage["nan"] is None


def test_a_string_equal_to_the_internal_marker_is_kept(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    capture = tmp_path / "m.sse"
    extra = '"big":1e999,"s":"\\ue000wire0:1e999","t":"\\ue000wire1:null"'
    capture.write_bytes(message_start(extra))
    assert main(["decode", "--message", str(capture)]) == 1
    usage = strict(capsys.readouterr().out)["usage"]  # type: ignore[index]
    assert usage["big"] == math.inf
    assert usage["s"] == "\ue000wire0:1e999"
    assert usage["t"] == "\ue000wire1:null"


def _finite(value: object) -> object:
    """What the output promises to read back as: NaN -> None, everything else equal."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


numbers = st.sampled_from(["1e999", "-1e999", "NaN", "Infinity", "-Infinity", "0.5", "-0", "7"])
# Text with lone surrogates (hypothesis's text() never draws them) and halves of a pair.
surrogates = st.sampled_from(["\ud800", "\udfff", "\ud83d", "\ude00", "a", "\u00e9", "\u2028"])
texts = st.one_of(st.text(max_size=8), st.lists(surrogates, max_size=4).map("".join)).map(
    lambda t: json.dumps(t)  # ensure_ascii: lone surrogates become \udXXX escapes
)
leaves = st.one_of(numbers, texts, st.sampled_from(["null", "true"]))
json_values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda xs: "[" + ",".join(xs) + "]"),
        st.lists(st.tuples(texts, inner), max_size=3).map(
            lambda kv: "{" + ",".join(f"{k}:{v}" for k, v in kv) + "}"
        ),
    ),
    max_leaves=6,
)


@given(st.lists(json_values, max_size=3), texts, st.booleans())
def test_every_output_line_is_strict_json(extras: list[str], text: str, as_message: bool) -> None:
    usage_extra = ",".join(['"n":0', *(f'"x{i}":{v}' for i, v in enumerate(extras))])
    capture = message_start(usage_extra) + text_block(text) + b'data: {"type":"message_stop"}\n\n'
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.sse"
        path.write_bytes(capture)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(["decode", *(["--message"] if as_message else []), str(path)]) == 0
    decoder = wire.MessageStreamDecoder()
    events = decoder.feed(capture)
    decoder.close()
    if as_message:
        assert decoder.message is not None
        assert strict(out.getvalue()) == _finite(decoder.message.to_dict())
    else:
        lines = out.getvalue().split("\n")  # not splitlines(): U+0085 or U+2028 may occur
        assert lines.pop() == ""
        assert [strict(line) for line in lines] == [_finite(e.to_dict()) for e in events]


# --- issue 14: keys never printed, usage errors on one line -----------------------------------

key_text = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=4
)


@given(key_text, st.lists(st.text(max_size=6), max_size=4), st.data())
def test_the_key_is_redacted_from_any_text_in_any_case(
    key: str, pieces: list[str], data: st.DataObject
) -> None:
    cased = "".join(data.draw(st.sampled_from([c.lower(), c.upper()])) for c in key)
    for argv in (["send", "--api-key", key, "hi"], [f"--api-key={key}"]):
        assert key.lower() not in cli._redact(cased.join(pieces) + cased, argv).lower()
        clean = "".join(pieces)
        if key.lower() not in clean.lower():
            assert cli._redact(clean, argv) == clean  # other text is left alone


@given(st.integers(min_value=-(10**6), max_value=10**6) | st.text(max_size=5))
def test_a_bad_port_is_one_usage_line(port: object) -> None:
    # Only values that do not parse, or fall outside 0..65535: nothing listens.
    if isinstance(port, int) and 0 <= port <= 65535:
        port = port + 65536
    if isinstance(port, str):
        with contextlib.suppress(ValueError):
            if 0 <= int(port) <= 65535:
                port = port + "x"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["serve", "--port", str(port)]) == 2
    assert err.getvalue().startswith("wire serve: error: argument --port:")
    assert err.getvalue().count("\n") == 1
