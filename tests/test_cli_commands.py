"""Every `wire` command end to end, in a subprocess (`python -m wire ...`), against the emulator.

One emulator (started here with `wire.testing.serve`, holding KEY) serves every
command; what each prints is checked against what `wire.sync.Client` gets for
the same request. Every run goes through `wire()`, which bounds it with a
timeout and checks that neither stdout nor stderr holds the key or a traceback.
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import wire
from wire.sync import Client

pytest.importorskip("trio")
from wire.testing import serve  # needs trio

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-ant-cli-test-Zq8VJ3xKp2-never-printed"
MODEL = "claude-opus-4-6"
TIMEOUT = 30
RUNS: list[tuple[list[str], str, str]] = []  # every command run here, and what it printed


def _env(key: str | None) -> dict[str, str]:
    """The child's environment: no proxy, no ANTHROPIC_* but the key asked for."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().endswith("_PROXY") and not k.startswith("ANTHROPIC_")
    }
    if key is not None:
        env["ANTHROPIC_API_KEY"] = key
    return env


def _check(args: list[str], out: str, err: str) -> None:
    RUNS.append((args, out, err))
    assert KEY not in out
    assert KEY not in err
    assert "Traceback" not in err


def wire_cli(
    *args: str, key: str | None = KEY, code: int = 0, stdin: bytes | None = None
) -> tuple[str, str]:
    """Run `python -m wire ARGS`; its stdout and stderr, after checking its exit status."""
    argv = [sys.executable, "-m", "wire", *args]
    proc = subprocess.run(
        argv, input=stdin, capture_output=True, timeout=TIMEOUT, cwd=ROOT, env=_env(key)
    )
    out, err = proc.stdout.decode(), proc.stderr.decode()
    _check(list(args), out, err)
    assert proc.returncode == code, (out, err)
    if code:  # an error: exactly one line on stderr
        assert err.count("\n") == 1, err
        assert err.startswith("wire"), err
    return out, err


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve(api_key=KEY, batch_seconds=0.3) as server:
        yield server.base_url


@pytest.fixture(scope="module")
def client(url: str) -> Iterator[Client]:
    with Client(api_key=KEY, base_url=url, proxy=None) as c:
        yield c


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def text(message: wire.Message) -> str:
    return "".join(b.text for b in message.content if isinstance(b, wire.TextBlock))


PROMPT = [{"role": "user", "content": "hello there"}]


# --- messages ---------------------------------------------------------------------------


def test_send_prints_the_reply_and_a_summary_with_the_request_id(url: str, client: Client) -> None:
    out, err = wire_cli("send", "--base-url", url, "--max-tokens", "40", "hello", "there")
    expected = client.create_message(model=MODEL, max_tokens=40, messages=PROMPT)
    assert out == text(expected) + "\n"
    assert f"stop reason: {expected.stop_reason}" in err
    assert f"{expected.usage.output_tokens} output tokens" in err
    assert "request id: req_" in err


def test_send_json_is_the_message(url: str, client: Client) -> None:
    out, _ = wire_cli(
        "send", "--base-url", url, "--json", "--max-tokens", "3", "--system", "Be brief", "hi"
    )
    message = wire.Message.from_dict(json.loads(out))
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 3


def test_stream_prints_the_text_as_the_events_carry_it(url: str, client: Client) -> None:
    out, err = wire_cli("stream", "--base-url", url, "--max-tokens", "40", "hello", "there")
    with client.stream_message(model=MODEL, max_tokens=40, messages=PROMPT) as stream:
        for _ in stream:
            pass
    assert stream.message is not None
    assert out == text(stream.message) + "\n"
    assert "request id: req_" in err


def test_stream_json_prints_one_event_per_line(url: str) -> None:
    out, _ = wire_cli("stream", "--base-url", url, "--json", "--max-tokens", "5", "hi")
    decoder = wire.MessageStreamDecoder()  # the lines, encoded back into SSE, decode whole
    for line in out.splitlines():
        decoder.feed(wire.encode_sse(line, event=json.loads(line)["type"]))
    decoder.close()
    assert json.loads(out.splitlines()[0])["type"] == "message_start"
    assert json.loads(out.splitlines()[-1]) == {"type": "message_stop"}
    assert decoder.message is not None
    assert decoder.message.usage.output_tokens == 5


def test_count_tokens(url: str, client: Client) -> None:
    out, _ = wire_cli("count-tokens", "--base-url", url, "hello", "there")
    assert int(out) == client.count_tokens(model=MODEL, messages=PROMPT)


def test_models(url: str, client: Client) -> None:
    ids = [m.id for m in client.list_models()]
    out, _ = wire_cli("models", "--base-url", url)
    assert [line.split()[0] for line in out.splitlines()] == ids
    out, _ = wire_cli("models", "--base-url", url, "--json")
    assert [json.loads(line)["id"] for line in out.splitlines()] == ids


def test_limits_reports_what_is_left(url: str) -> None:
    out, _ = wire_cli("limits", "--base-url", url, "--json")
    limits = json.loads(out)
    assert limits["requests"]["limit"] >= limits["requests"]["remaining"] > 0
    assert limits["input_tokens"]["reset"] > time.time() - 1
    out, _ = wire_cli("limits", "--base-url", url)
    assert "request id req_" in out.splitlines()[0]
    assert [line.split()[0] for line in out.splitlines()[2:]] == [
        "requests",
        "tokens",
        "input",
        "output",
    ]


# --- batches ----------------------------------------------------------------------------


def write_batch(path: Path, n: int = 3) -> Path:
    lines = [
        json.dumps(
            {
                "custom_id": f"r{i}",
                "params": {"model": MODEL, "max_tokens": 10, "messages": PROMPT},
            }
        )
        for i in range(n)
    ]
    path.write_text("\n".join(lines) + "\n\n")  # a blank line is skipped
    return path


def test_batch_create_status_watch_results(url: str, tmp_path: Path) -> None:
    out, _ = wire_cli("batch", "create", "--base-url", url, str(write_batch(tmp_path / "b.jsonl")))
    batch_id, _, rest = out.partition(": ")
    assert batch_id.startswith("msgbatch_")
    assert rest.startswith("in_progress; 3 processing")
    out, _ = wire_cli("batch", "status", "--base-url", url, "--json", batch_id)
    assert (
        json.loads(out)["request_counts"]["processing"]
        + json.loads(out)["request_counts"]["succeeded"]
        == 3
    )
    out, _ = wire_cli("batch", "watch", "--base-url", url, "--interval", "0.05", batch_id)
    lines = out.splitlines()
    assert len(lines) == len(set(lines))  # piped: a line per change, no bar
    assert (
        lines[-1]
        == f"{batch_id}: ended; 0 processing, 3 succeeded, 0 errored, 0 canceled, 0 expired"
    )
    out, _ = wire_cli("batch", "results", "--base-url", url, batch_id)
    results = [wire.BatchResult.from_dict(json.loads(line)) for line in out.splitlines()]
    assert sorted(r.custom_id for r in results) == ["r0", "r1", "r2"]
    assert all(isinstance(r.result, wire.SucceededResult) for r in results)


def test_batch_watch_draws_a_bar_on_a_terminal(url: str, client: Client, tmp_path: Path) -> None:
    lines = write_batch(tmp_path / "b.jsonl").read_text().splitlines()
    requests = [json.loads(line) for line in lines if line]
    batch = client.create_batch(requests)
    leader, follower = pty.openpty()
    argv = [sys.executable, "-m", "wire", "batch", "watch", "--base-url", url]
    proc = subprocess.Popen(
        [*argv, "--interval", "0.05", batch.id],
        stdout=follower,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=_env(KEY),
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + TIMEOUT
    try:
        while time.monotonic() < deadline:
            if select.select([leader], [], [], 1)[0]:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
        assert proc.wait(timeout=TIMEOUT) == 0
    finally:
        os.close(leader)
        proc.kill()
        assert proc.stderr is not None
        err = proc.stderr.read().decode()
        proc.stderr.close()
    _check(["batch", "watch", "(tty)"], seen.decode(), err)
    assert b"\r[" in seen
    assert b"[" + b"#" * 30 + b"] 3/3 ended" in seen


def test_batch_create_refuses_a_file_that_is_not_jsonl(url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"custom_id": "a"}\nnot json\n')
    _, err = wire_cli("batch", "create", "--base-url", url, str(bad), code=1)
    assert f"{bad}, line 2: not JSON" in err
    _, err = wire_cli("batch", "create", "--base-url", url, str(tmp_path / "nope.jsonl"), code=1)
    assert "nope.jsonl" in err
    assert "No such file" in err


def test_an_unknown_batch_is_the_api_error_with_its_request_id(url: str) -> None:
    _, err = wire_cli("batch", "status", "--base-url", url, "msgbatch_nope", code=1)
    assert err.startswith("wire: error: NotFoundError: not_found_error (HTTP 404)")
    assert "[request-id req_" in err


# --- what goes wrong, in one line ---------------------------------------------------------


def test_a_bad_key_is_one_line_with_the_request_id(url: str) -> None:
    _, err = wire_cli("send", "--base-url", url, "hi", key="sk-ant-wrong-key-0123456789", code=1)
    assert "AuthenticationError" in err
    assert "[request-id req_" in err
    assert "sk-ant-wrong-key-0123456789" not in err


def test_no_key_is_one_line(url: str) -> None:
    _, err = wire_cli("models", "--base-url", url, key=None, code=1)
    assert "no credentials" in err


def test_an_unreachable_host_is_one_line(url: str) -> None:
    port = closed_port()
    base = f"http://127.0.0.1:{port}"
    _, err = wire_cli("send", "--base-url", base, "--max-retries", "0", "hi", code=1)
    assert err.startswith("wire: error: APIConnectionError")
    assert f"127.0.0.1:{port}" in err


def test_a_key_inside_another_text_is_redacted() -> None:
    # The key as the host of the URL: the connection error would name it.
    _, err = wire_cli(
        "models",
        "--base-url",
        f"http://{KEY}.invalid",
        "--max-retries",
        "0",
        "--api-key",
        KEY,
        key=None,
        code=1,
    )
    assert "[the key]" in err


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["serve", "--port", "-5"], "'-5' is not a port number"),
        (["serve", "--port", "99999"], "'99999' is not a port number"),
        (["send"], "the following arguments are required: prompt"),
        (["send", "--max-tokens", "0", "hi"], "'0' is not a number of tokens"),
        (["batch", "watch", "x", "--interval", "nan"], "'nan' is not a number of seconds"),
        (["nope"], "invalid choice: 'nope'"),
    ],
)
def test_a_usage_error_is_one_line_and_status_2(args: list[str], says: str) -> None:
    _, err = wire_cli(*args, code=2)
    assert says in err


def test_serve_on_a_port_in_use_is_one_line() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        _, err = wire_cli("serve", "--port", str(port), code=1)
    assert f"cannot listen on 127.0.0.1:{port}: the port is in use" in err


def test_serve_on_an_unknown_host_is_one_line() -> None:
    _, err = wire_cli("serve", "--host", "no-such-host.invalid", "--port", "0", code=1)
    assert "cannot listen on no-such-host.invalid:0" in err


# --- Ctrl-C -------------------------------------------------------------------------------


def interrupt(argv: list[str], ready: bytes) -> tuple[int, bytes, bytes]:
    """Start `python -m wire ARGV`, send SIGINT once its stdout holds `ready`; its outcome."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "wire", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=_env(KEY),
    )
    assert proc.stdout is not None
    seen = b""
    deadline = time.monotonic() + TIMEOUT
    try:
        while ready not in seen and time.monotonic() < deadline:
            if select.select([proc.stdout], [], [], 1)[0]:
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                seen += chunk
        assert ready in seen, seen
        proc.send_signal(signal.SIGINT)
        try:
            rest, err = proc.communicate(timeout=TIMEOUT / 3)
        except subprocess.TimeoutExpired:
            # Seen once in a loaded full run and never reproduced: the child still ran
            # 30 s after one SIGINT. A second Ctrl-C, as a person would press it, must
            # still end it quietly with 130 (the assertions below hold either way).
            proc.send_signal(signal.SIGINT)
            rest, err = proc.communicate(timeout=TIMEOUT)
    finally:
        proc.kill()
        proc.wait(timeout=TIMEOUT)
    _check(argv, (seen + rest).decode(), err.decode())
    return proc.returncode, seen + rest, err


def test_ctrl_c_ends_serve_quietly_with_130() -> None:
    code, _, err = interrupt(["serve", "--port", "0"], b"listening on http://127.0.0.1:")
    assert code == 130
    assert err == b""


def test_ctrl_c_mid_stream_ends_quietly_with_130() -> None:
    # The demo streams at 5 tokens a second: the first words are out, the rest is not.
    code, out, err = interrupt(
        ["demo", "--pace", "5", "hello"], b"streaming a reply to 'hello'\n\n"
    )
    assert code == 130
    assert err == b""
    assert b"stop reason" not in out


def test_serve_serves_what_the_commands_ask(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "wire", "serve", "--port", "0", "--api-key", KEY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=_env(None),
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], TIMEOUT)
        assert ready
        line = proc.stdout.readline().decode()
        base = line.rsplit(" ", 1)[1].strip()
        out, _ = wire_cli("count-tokens", "--base-url", base, "hello", "there")
        assert int(out) > 0
        _, err = wire_cli("models", "--base-url", base, key="sk-ant-other-0000", code=1)
        assert "AuthenticationError" in err
    finally:
        proc.send_signal(signal.SIGINT)
        _, err_bytes = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 130
    _check(["serve"], line, err_bytes.decode())


# --- decode ---------------------------------------------------------------------------------

SAMPLE = Path(str(__import__("importlib.resources").resources.files("wire"))) / "samples"


def test_decode_from_stdin_and_a_sample() -> None:
    capture = (SAMPLE / "tool_use.sse").read_bytes()
    piped, _ = wire_cli("decode", "-", stdin=capture)
    bundled, _ = wire_cli("decode", "--sample", "tool_use")
    assert piped == bundled
    assert json.loads(piped.splitlines()[-1]) == {"type": "message_stop"}


def test_decode_garbage_is_one_line(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sse"
    junk.write_bytes(bytes(range(256)) * 8)
    out, err = wire_cli("decode", str(junk), code=1)
    assert out == ""
    assert "IncompleteStreamError" in err


def test_decode_a_truncated_capture_prints_the_events_before_the_cut(tmp_path: Path) -> None:
    capture = (SAMPLE / "tool_use.sse").read_bytes()
    cut = tmp_path / "cut.sse"
    cut.write_bytes(capture[: len(capture) // 2])
    out, err = wire_cli("decode", str(cut), code=1)
    assert json.loads(out.splitlines()[0])["type"] == "message_start"
    assert "IncompleteStreamError" in err


def test_decode_names_a_missing_file_and_the_samples(tmp_path: Path) -> None:
    missing = tmp_path / "missing.sse"
    _, err = wire_cli("decode", str(missing), code=1)
    assert err == f"wire: error: cannot read {missing}: No such file or directory\n"
    _, err = wire_cli("decode", "--sample", "nope", code=1)
    assert err == "wire: error: no sample named 'nope' (the samples: tool_use)\n"


# --- the demo -------------------------------------------------------------------------------


def test_demo_says_the_reply_is_synthetic_and_shows_ids_limits_and_times() -> None:
    out, _ = wire_cli("demo", "--pace", "0", "hello", key=None)
    head, reply, tail = out.split("\n\n")
    assert "emulator" in head
    assert "synthetic text" in head
    assert "hello" in reply
    assert "request id: req_" in tail
    assert "rate limits left: requests 999/1,000" in tail
    assert "time to first token:" in tail


def test_demo_events_shows_the_typed_events() -> None:
    out, _ = wire_cli("demo", "--pace", "0", "--events", "--max-tokens", "5", "hi", key=None)
    names = [line.split()[0] for line in out.split("\n\n")[1].splitlines()]
    assert names[0] == "MessageStart"
    assert names.count("ContentBlockDelta") == 5
    assert names[-2:] == ["MessageDelta", "MessageStop"]


# --- the key --------------------------------------------------------------------------------


def test_no_output_holds_the_key(url: str) -> None:
    # Errors that might echo what they were given, with the key passed both ways.
    for key_args, env_key in (([], KEY), (["--api-key", KEY], None), ([f"--api-key={KEY}"], None)):
        wire_cli("batch", "status", "--base-url", url, *key_args, KEY, key=env_key, code=1)
    wire_cli("send", "--base-url", url, "--model", KEY, "hi", code=1)
    # Every run of this module so far, commands and errors alike (when run in order).
    assert len(RUNS) >= 4
    for args, out, err in RUNS:
        assert KEY not in out + err, args
