"""Record -> replay round trips through real sockets: the emulator behind the recorder,
clients in front of it; then the capture served back by `serve(replay=...)` to the
same clients, which must see the same bytes, the same events, the same faults, and
(at `speed=1`) the same pace.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("trio")

import wire
import wire.sync
from tests.test_replay import Answer, fetch
from wire.testing import serve
from wire.testing.capture import Exchange, read_capture
from wire.testing.emulator import Emulator
from wire.testing.recorder import record
from wire.testing.server import Server

KEY = "sk-ant-api03-RoundTripKey-5e6f7a8b"
MODEL = "claude-opus-4-6"
HEADERS = [("x-api-key", KEY), ("anthropic-version", "2023-06-01")]
HEADERS += [("content-type", "application/json")]


def params(text: str = "hello there", max_tokens: int = 20) -> dict[str, Any]:
    return {
        "model": MODEL,
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": text}],
    }


def body(stream: bool, **fields: Any) -> bytes:
    return json.dumps({**params(**fields), "stream": stream}).encode()


@contextlib.contextmanager
def recording(path: Path, **emulator_options: Any) -> Iterator[tuple[Server, str]]:
    """The emulator behind a recorder writing `path`: the emulator, and the recorder's URL."""
    from wire.testing.capture import CaptureWriter

    with (
        serve(**emulator_options) as emulator,
        CaptureWriter.create(path, upstream=emulator.base_url) as writer,
        record(emulator.base_url, writer, proxy=None) as recorder,
    ):
        yield emulator, recorder.base_url


def round_trip(
    tmp_path: Path, client: Callable[[str], Any], speed: float = 0, **emulator_options: Any
) -> tuple[Any, Any, list[Exchange]]:
    """What `client(base_url)` gets through the recorder, then from the replay."""
    path = tmp_path / "c.wirecap"
    with recording(path, **emulator_options) as (_, base_url):
        recorded = client(base_url)
    assert KEY.encode() not in path.read_bytes()
    with serve(replay=path, speed=speed) as server:
        replayed = client(server.base_url)
        assert server.emulator.misses == []
    return recorded, replayed, read_capture(path)


def port(base_url: str) -> int:
    return int(base_url.rsplit(":", 1)[1])


def wire_client(base_url: str, **options: Any) -> wire.sync.Client:
    return wire.sync.Client(api_key=KEY, base_url=base_url, proxy=None, max_retries=0, **options)


# -- (a) bytes and events --------------------------------------------------------------------


def test_replayed_body_bytes_equal_the_recorded_ones(tmp_path: Path) -> None:
    def client(base_url: str) -> list[Answer]:
        return [
            fetch(port(base_url), "POST", "/v1/messages", body(stream), headers=HEADERS)
            for stream in (True, False)
        ]

    recorded, replayed, exchanges = round_trip(tmp_path, client)
    for got, again, exchange in zip(recorded, replayed, exchanges, strict=True):
        assert got.complete
        assert again.complete
        assert b"".join(got.reads) == exchange.body  # what the client got is what was stored
        assert b"".join(again.reads) == exchange.body  # and what the replay sends back
        assert again.headers["request-id"] == got.headers["request-id"]
    assert recorded[0].headers["content-type"].startswith("text/event-stream")


def test_wire_sync_decodes_the_same_events_and_messages(tmp_path: Path) -> None:
    def client(base_url: str) -> tuple[Any, ...]:
        with wire_client(base_url) as c:
            with c.stream_message(**params()) as stream:
                events = list(stream)
            created = c.create_message(**params("and again"))
            model = c.get_model(MODEL)
        return events, stream.message, created, model

    recorded, replayed, exchanges = round_trip(tmp_path, client)
    assert replayed == recorded
    assert isinstance(recorded[0][0], wire.MessageStart)
    assert [e.request.target for e in exchanges] == [
        "/v1/messages",
        "/v1/messages",
        f"/v1/models/{MODEL}",
    ]


def test_the_official_sdk_gets_the_same_events_and_messages(tmp_path: Path) -> None:
    anthropic = pytest.importorskip("anthropic")

    def client(base_url: str) -> tuple[Any, ...]:
        with anthropic.Anthropic(api_key=KEY, base_url=base_url, max_retries=0) as sdk:
            with sdk.messages.create(**params(), stream=True) as stream:
                events = [event.to_dict() for event in stream]
            with sdk.messages.stream(**params("streamed, accumulated")) as helper:
                final = helper.get_final_message().to_dict()
            created = sdk.messages.create(**params("not streamed")).to_dict()
        return events, final, created

    recorded, replayed, _ = round_trip(tmp_path, client)
    assert replayed == recorded
    assert recorded[0][0]["type"] == "message_start"


# -- (b) pace --------------------------------------------------------------------------------

PACE = 4.0  # the emulator's tokens a second: a frame every 0.25 s


def arrivals(answer: Answer, exchange: Exchange) -> list[float]:
    """When the client held each recorded read whole (seconds after it sent the request)."""
    ends = list(itertools.accumulate(len(piece) for piece in answer.reads))
    held, at, got = [], 0, 0
    for read in exchange.reads:
        got += len(read.data)
        while ends[at] < got:
            at += 1
        held.append(answer.times[at])
    return held


def paced_fetch(base_url: str) -> Answer:
    return fetch(port(base_url), "POST", "/v1/messages", body(True, max_tokens=2), headers=HEADERS)


@pytest.fixture(scope="module")
def paced(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Exchange]:
    """A stream recorded at the emulator's pace (about 2 s): its capture and its exchange."""
    path = tmp_path_factory.mktemp("paced") / "c.wirecap"
    with recording(path, pace=PACE) as (_, base_url):
        answer = paced_fetch(base_url)
    (exchange,) = read_capture(path)
    assert b"".join(answer.reads) == exchange.body
    return path, exchange


def replay(path: Path, speed: float) -> Answer:
    with serve(replay=path, speed=speed) as server:
        return paced_fetch(server.base_url)


def test_at_speed_1_each_replayed_gap_keeps_the_recorded_one(paced: tuple[Path, Exchange]) -> None:
    path, exchange = paced
    replayed = replay(path, speed=1)
    assert b"".join(replayed.reads) == exchange.body
    times = [read.t for read in exchange.reads]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert sum(gap >= 0.2 for gap in gaps) >= 5  # the pace was recorded
    held = arrivals(replayed, exchange)
    for index, gap in enumerate(gaps):
        if gap >= 0.05:  # the paced ones (frames sent together may share a read)
            assert held[index + 1] - held[index] >= 0.8 * gap, (index, gap, held)
    for t, at in zip(times, held, strict=True):
        assert at >= t - 0.02  # never early: each read is due after the request came
    assert exchange.end is not None
    assert held[-1] <= exchange.end.t + 0.5


def test_at_speed_0_the_replay_is_much_faster(paced: tuple[Path, Exchange]) -> None:
    path, exchange = paced
    replayed = replay(path, speed=0)
    assert b"".join(replayed.reads) == exchange.body
    assert exchange.end is not None
    assert exchange.end.t >= 1.0
    assert replayed.times[-1] < exchange.end.t / 4


# -- (c) curl --------------------------------------------------------------------------------


def test_curl_output_is_the_same_recorded_and_replayed(tmp_path: Path) -> None:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")

    def client(base_url: str) -> list[bytes]:
        outputs = []
        for stream in (True, False):
            command = [curl, "-sS", "-N", "--max-time", "30", "--data-binary", "@-"]
            for name, value in HEADERS:
                command += ["-H", f"{name}: {value}"]
            done = subprocess.run(
                [*command, f"{base_url}/v1/messages"],
                input=body(stream),
                capture_output=True,
                timeout=60,
                check=True,
            )
            outputs.append(done.stdout)
        return outputs

    recorded, replayed, exchanges = round_trip(tmp_path, client)
    assert replayed == recorded
    assert recorded == [exchange.body for exchange in exchanges]
    assert b"event: message_stop" in recorded[0]


# -- (d) a cut-off stream --------------------------------------------------------------------


def test_a_recorded_cut_off_replays_as_the_same_incomplete_stream(tmp_path: Path) -> None:
    def client(base_url: str) -> tuple[list[Any], wire.Message | None]:
        events: list[Any] = []
        fault = {"x-wire-fault": "drop-after=700"}
        with (
            wire_client(base_url, default_headers=fault) as c,
            pytest.raises(wire.IncompleteStreamError) as raised,
            c.stream_message(**params()) as stream,
        ):
            events.extend(stream)
        return events, raised.value.partial_message

    recorded, replayed, (exchange,) = round_trip(tmp_path, client)
    assert replayed == recorded
    events, partial = recorded
    assert events
    assert partial is not None
    assert exchange.end is not None
    assert exchange.end.complete is False
    assert len(exchange.body) == 700


# -- (e) chaos -------------------------------------------------------------------------------


def outcome(call: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[str, Any]:
    """What one call came to: its value, or its error's type, status, request id and partial
    message (not its text, which may name the port)."""
    try:
        return "ok", call(*args, **kwargs)
    except wire.WireError as exc:
        facts = [getattr(exc, name, None) for name in ("status", "request_id", "partial_message")]
        return type(exc).__name__, facts


def test_a_capture_recorded_with_chaos_replays_the_same_faults(tmp_path: Path) -> None:
    def client(base_url: str) -> list[tuple[str, Any]]:
        def streamed(c: wire.sync.Client, **ask: Any) -> list[Any]:
            with c.stream_message(**ask) as stream:
                return list(stream)

        results = []
        with wire_client(base_url) as c:
            for n in range(30):  # streamed and not, in turn
                ask = params(f"request {n}", max_tokens=12)
                if n % 2:
                    results.append(outcome(c.create_message, **ask))
                else:
                    results.append(outcome(streamed, c, **ask))
        return results

    path = tmp_path / "c.wirecap"
    with recording(path, chaos="7:0.5") as (emulator, base_url):
        recorded = client(base_url)
        assert isinstance(emulator.emulator, Emulator)
        assert emulator.emulator.chaos_log  # faults were injected
    with serve(replay=path, speed=0) as server:
        replayed = client(server.base_url)
        assert server.emulator.misses == []
    assert replayed == recorded
    kinds = {kind for kind, _ in recorded}
    assert "ok" in kinds
    assert len(kinds) >= 3  # successes and at least two kinds of failure
    ends = [exchange.end for exchange in read_capture(path)]
    assert any(end is not None and not end.complete for end in ends)  # a cut-off among them
