"""`wire decode`: typed events as JSON lines, the accumulated message, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

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
