"""Seeded chaos and faults set from the test side (`wire.testing.chaos`)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wire
from wire import builders as build
from wire._connection import ClientConnection, ResponseHead
from wire.testing.chaos import DEFAULT_RATE, MENU, Chaos, ChaosRecord, MenuItem
from wire.testing.emulator import Close, Emulator, Send
from wire.testing.faults import FaultError, parse_faults

from .test_emulator import CFG, drain, message, with_fault

seeds = st.integers(min_value=-(2**63), max_value=2**63)
rates = st.floats(min_value=0, max_value=1)

# The requests of a run: a message (streamed or not), count_tokens, the model list, or a
# message carrying its own fault header.
KINDS = ("message", "stream", "count", "models", "own")


def request_of(kind: str) -> wire.Request:
    if kind == "count":
        return build.count_tokens(
            CFG, model="claude-opus-4-6", messages=[{"role": "user", "content": "Hi"}]
        )
    if kind == "models":
        return build.list_models(CFG)
    if kind == "own":
        return with_fault(message(), "chunk=7")
    return message(stream=kind == "stream")


def heads(emulator: Emulator, request: wire.Request) -> list[ResponseHead]:
    """The response head a request gets (a fault may cut the body after it: that is fine)."""
    connection = emulator.connection()
    client = ClientConnection("127.0.0.1:8080")
    events: list[Any] = []
    try:
        for action in drain(connection, client.send_request(request)):
            if isinstance(action, Send):
                events += client.receive_data(action.data)
            elif isinstance(action, Close):
                events += client.receive_data(b"")
    except wire.WireError:
        pass
    assert emulator.failures == []
    return [event for event in events if isinstance(event, ResponseHead)]


def run(emulator: Emulator, kinds: list[str]) -> list[str]:
    """Send each request in order; the request id each one got."""
    return [heads(emulator, request_of(kind))[0].request_id or "" for kind in kinds]


def status(emulator: Emulator, request: wire.Request) -> list[int]:
    """The status of the response to `request`."""
    return [head.status for head in heads(emulator, request)]


# --- the draw -------------------------------------------------------------------------------


@settings(max_examples=20)
@given(seeds, rates)
def test_the_share_hit_is_close_to_the_rate(seed: int, rate: float) -> None:
    chaos = Chaos(seed, rate)
    n = 2000
    hits = sum(chaos.fault(i, streams=False) is not None for i in range(1, n + 1))
    # A binomial share: its standard deviation is at most 0.5 / sqrt(2000) ~ 0.011.
    assert abs(hits / n - rate) < 0.06


def test_rate_zero_injects_nothing_and_rate_one_everything() -> None:
    assert all(Chaos(3, 0).fault(n, streams=True) is None for n in range(1, 3000))
    assert all(Chaos(3, 1).fault(n, streams=False) is not None for n in range(1, 3000))


def test_the_menu_weights_and_stream_only_faults() -> None:
    chaos = Chaos(11, 1.0)
    plain = [chaos.fault(n, streams=False) for n in range(1, 4001)]
    streamed = [chaos.fault(n, streams=True) for n in range(1, 4001)]
    stream_only = {item.fault for item in MENU if item.streams_only}
    assert not stream_only & set(plain)
    assert set(streamed) == {item.fault for item in MENU}  # every fault comes up
    total = sum(item.weight for item in MENU)
    for item in MENU:  # each in proportion to its weight (within 4 standard deviations)
        share = item.weight / total
        assert abs(streamed.count(item.fault) / 4000 - share) < 4 * (share / 4000) ** 0.5 + 0.01


def test_every_menu_fault_is_in_the_catalogue() -> None:
    for item in MENU:
        assert parse_faults(item.fault).any
        assert parse_faults(item.fault).times is None  # chaos never counts by header value
        stall = parse_faults(item.fault).stall
        assert stall is None or stall <= 0.5  # stalls stay short enough for tests


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("7", Chaos(7, DEFAULT_RATE)),
        ("7:0.5", Chaos(7, 0.5)),
        ("-3:1", Chaos(-3, 1.0)),
        ("0:0", Chaos(0, 0.0)),
        (42, Chaos(42)),
        (Chaos(5, 0.2), Chaos(5, 0.2)),
    ],
)
def test_chaos_specs(spec: Any, expected: Chaos) -> None:
    assert Chaos.parse(spec) == expected


@pytest.mark.parametrize("spec", ["", "x", "7:", "7:1.5", "7:-0.1", "7:nan", "7:inf", "1.5:0.1"])
def test_bad_chaos_specs_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="SEED"):
        Chaos.parse(spec)


def test_bad_chaos_objects_are_refused() -> None:
    with pytest.raises(ValueError, match="seed"):
        Chaos(True)
    with pytest.raises(ValueError, match="rate"):
        Chaos(1, True)
    with pytest.raises(ValueError, match="menu"):
        Chaos(1, 0.5, ())
    with pytest.raises(ValueError, match="menu"):
        Chaos(1, 0.5, (MenuItem("gzip=1", 0),))
    with pytest.raises(FaultError, match="unknown fault"):
        Chaos(1, 0.5, (MenuItem("explode=1"),))


# --- in the emulator ----------------------------------------------------------------------


@settings(max_examples=15)
@given(seeds, rates, st.lists(st.sampled_from(KINDS), min_size=1, max_size=12))
def test_same_seed_and_order_same_fault_log(seed: int, rate: float, kinds: list[str]) -> None:
    first, second = Emulator(chaos=Chaos(seed, rate)), Emulator(chaos=Chaos(seed, rate))
    ids = run(first, kinds)
    assert run(second, kinds) == ids
    assert first.chaos_log == second.chaos_log
    # And the log is exactly what the draw says: requests with their own header keep it.
    expected = [
        (n, kind)
        for n, kind in enumerate(kinds, 1)
        if kind != "own" and Chaos(seed, rate).fault(n, streams=kind == "stream") is not None
    ]
    assert [(record.n, kinds[record.n - 1]) for record in first.chaos_log] == expected
    for record in first.chaos_log:
        assert record.request_id == ids[record.n - 1]  # the id the client saw
        assert record.fault == Chaos(seed, rate).fault(record.n, kinds[record.n - 1] == "stream")
        assert record.method == request_of(kinds[record.n - 1]).method


def test_injected_status_is_what_the_header_would_give() -> None:
    item = MenuItem("status=529;retry-after=0.1")
    emulator = Emulator(chaos=Chaos(1, 1.0, (item,)))
    (head,) = heads(emulator, message())
    assert head.status == 529
    assert ("retry-after", "0.1") in head.headers
    (record,) = emulator.chaos_log
    assert record == ChaosRecord(1, "POST", "/v1/messages", head.request_id or "", item.fault)
    assert str(record).startswith("chaos #1: POST /v1/messages req_")


def test_a_request_with_its_own_header_keeps_it() -> None:
    emulator = Emulator(chaos=Chaos(1, 1.0, (MenuItem("status=500"),)))
    assert status(emulator, with_fault(message(), "status=429")) == [429]
    assert not emulator.chaos_log
    heads(emulator, message())  # the next request is the second: n counted the first
    assert [record.n for record in emulator.chaos_log] == [2]


def test_set_faults_applies_to_the_following_requests() -> None:
    emulator = Emulator()
    emulator.set_faults("status=529;times=2")
    assert [status(emulator, message()) for _ in range(3)] == [[529], [529], [200]]
    emulator.set_faults("status=500")
    assert status(emulator, message()) == [500]
    own = with_fault(message(), "status=413")
    assert status(emulator, own) == [413]
    emulator.set_faults(None)
    assert status(emulator, message()) == [200]
    emulator.set_faults("status=500;times=0")
    assert status(emulator, message()) == [200]
    with pytest.raises(FaultError, match="unknown fault"):
        emulator.set_faults("explode=1")
    assert not emulator.chaos_log  # set faults are not chaos's


def test_set_faults_come_before_chaos() -> None:
    emulator = Emulator(chaos=Chaos(1, 1.0, (MenuItem("status=500"),)))
    emulator.set_faults("status=429;times=1")
    first = status(emulator, message())
    second = status(emulator, message())
    assert (first, second) == ([429], [500])
    assert [record.n for record in emulator.chaos_log] == [2]


def test_set_chaos_starts_afresh_and_none_stops_it() -> None:
    emulator = Emulator()
    assert emulator.chaos is None
    run(emulator, ["message"] * 3)
    emulator.set_chaos("5:1")
    assert emulator.chaos == Chaos(5, 1.0)
    run(emulator, ["message"] * 2)
    assert [record.n for record in emulator.chaos_log] == [1, 2]
    emulator.set_chaos(None)
    run(emulator, ["message"])
    assert [record.n for record in emulator.chaos_log] == [1, 2]  # kept, nothing added
    emulator.set_chaos(Chaos(5, 1.0))
    assert not emulator.chaos_log
    run(emulator, ["message"])
    assert [record.n for record in emulator.chaos_log] == [1]


def test_a_request_refused_for_its_key_does_not_count() -> None:
    emulator = Emulator(api_key="sk-right", chaos="9:1")
    wrong = wire.APIConfig(api_key="sk-wrong")
    refused = build.create_message(
        wrong, model="claude-opus-4-6", max_tokens=10, messages=[{"role": "user", "content": "x"}]
    )
    assert status(emulator, refused) == [401]
    assert not emulator.chaos_log


# --- on a socket: the official SDK, and `wire serve --chaos` --------------------------------


def test_the_sdk_sees_the_faults_and_its_retries_complete() -> None:
    anthropic = pytest.importorskip("anthropic")
    from wire.testing import serve

    retried = {"status=529;retry-after=0.1", "status=429;retry-after=0.1"}
    retried |= {"status=500;retry-after=0.1", "drop-after=32"}
    with (
        serve(chaos="2024:0.4") as server,
        anthropic.Anthropic(api_key="sk-test", base_url=server.base_url, max_retries=8) as client,
    ):
        retries = 0
        for _ in range(15):
            raw = client.messages.with_raw_response.create(
                model="claude-opus-4-6", max_tokens=32, messages=[{"role": "user", "content": "Hi"}]
            )
            assert raw.parse().content[0].text
            retries += raw.retries_taken
        log = server.emulator.chaos_log
    assert len(log) >= 3  # 0.4 of 15+ requests
    # Every status and cut connection made the SDK retry; the rest only slowed it down.
    assert retries == sum(record.fault in retried for record in log) > 0


def test_wire_serve_chaos_logs_each_fault_to_stderr() -> None:
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
    command = [sys.executable, "-m", "wire", "serve", "--port", "0", "--chaos", "3:1"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as process:
        try:
            assert process.stdout is not None
            url = process.stdout.readline().split()[-1]
            request = urllib.request.Request(
                f"{url}/v1/models",
                headers={"x-api-key": "sk-test", "anthropic-version": "2023-06-01"},
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    response.read()
            except (urllib.error.HTTPError, OSError) as exc:  # the fault it got
                if isinstance(exc, urllib.error.HTTPError):
                    exc.close()
        finally:
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=30)
    line = err.splitlines()[0]
    assert re.fullmatch(r"wire serve: chaos #1: GET /v1/models req_01\w{22}: .+", line), err
    assert line.split(": ")[-1] == Chaos(3, 1.0).fault(1, streams=False)


def test_the_emulator_doc_example_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("anthropic")
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    doc = Path(__file__).resolve().parent.parent / "docs" / "emulator.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(), re.S)
    (code,) = [block for block in blocks if 'serve(chaos="7:0.5")' in block]
    exec(compile(code, str(doc), "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert lines
    assert all(re.fullmatch(r"chaos #\d+: POST /v1/messages req_01\w{22}: .+", x) for x in lines)


@pytest.mark.parametrize("spelled", ["sk-test", "sk%2Dtest", "SK%2dTEST", "sk-te%73t"])
def test_the_chaos_log_never_holds_the_key(spelled: str) -> None:
    """A client that puts its key in the query string: the log line names the request
    without it, however the key is spelled (the emulator compares without case, as it
    redacts: a key is a secret in any case)."""
    emulator = Emulator(chaos=Chaos(1, 1.0, (MenuItem("status=500"),)))
    request = message()
    target = f"{request.target}?beta=true&key={spelled}"
    heads(emulator, wire.Request(request.method, target, request.headers, request.body))
    (record,) = emulator.chaos_log
    assert "sk-test" not in str(record).lower()
    assert record.target == "/v1/messages?beta=true&key=[redacted]"
