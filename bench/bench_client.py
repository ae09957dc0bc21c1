"""End-to-end client benchmark: wire's drivers against the official SDK, over loopback.

The emulator (`python -m wire serve --port 0`) runs in its own process, so the
client's CPU time (`time.process_time()` in this process) is the client's
alone: that is the figure, per stream; wall time is printed beside it (it
includes waiting for the emulator, which shares the machine's cores).

Method (../shared/BENCH.md): every contender of a case runs in this one
process, in interleaved rounds whose order rotates; a sample repeats streams
for at least 0.2 s of wall time; the figure is the best of 7 samples (median
beside it); `gc.collect()` + `gc.freeze()` precede each sample. Before anything
is timed, every contender's final message (text, stop reason and usage) must
equal the one the emulator's reply model gives for the request: a fast wrong
answer gets no figure.

Cases:
  a-short       one stream at a time, the emulator's default reply (40 text deltas)
  b-long        one stream at a time, 2,000 text deltas (`x-wire-fault: reply=long`)
  c-concurrent  50 concurrent short streams on one event loop: CPU per stream, streams/s

Contenders: (a, b) a bare `wire.ClientConnection` + blocking socket loop (the
floor), `wire.sync.Client`, the SDK's `anthropic.Anthropic`; (c) a bare trio +
`ClientConnection` loop (the floor), `wire.trio.Client`, `wire.asyncio.Client`,
the SDK's `anthropic.AsyncAnthropic`. A contender whose package or module is
missing is reported and skipped.

Run from the repository root:
    python bench/bench_client.py                 # every case, 7 rounds (~25 s on 2 cores)
    python bench/bench_client.py --quick         # 3 rounds
    python bench/bench_client.py --case a --rounds 5
    python bench/bench_client.py --profile       # cProfile of wire.sync.Client on (a), (b)
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import os
import pstats
import select
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# The wire of this checkout, not an installed one: the emulator's process gets the same path.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import wire  # noqa: E402
import wire.builders  # noqa: E402
import wire.sync  # noqa: E402

KEY = "sk-bench"
MODEL = "claude-sonnet-4-6"
PROMPT = "What is the weather in Paris today?"  # the emulator answers it in 40 text deltas
SEED = 0
CONCURRENCY = 50
MIN_SAMPLE_SECONDS = 0.2
MIN_BATCHES = 2  # a concurrent sample runs at least this many batches of CONCURRENCY streams
DEFAULT_ROUNDS = 7
QUICK_ROUNDS = 3
READ_SIZE = 64 * 1024
START_SECONDS = 30.0  # the emulator must say where it listens within this


# --- cases and answers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    title: str
    max_tokens: int
    fault: str | None  # the x-wire-fault header, if any
    concurrency: int  # 1: one stream at a time (sync contenders); else that many at once (async)

    @property
    def letter(self) -> str:
        return self.name.split("-")[0]

    @property
    def body(self) -> dict[str, Any]:
        """The request's parameters (also the body the emulator's reply model reads)."""
        return {
            "model": MODEL,
            "max_tokens": self.max_tokens,
            "messages": [{"role": "user", "content": PROMPT}],
        }

    @property
    def headers(self) -> dict[str, str]:
        return {} if self.fault is None else {"x-wire-fault": self.fault}


CASES = (
    Case("a-short", "one short stream at a time (the emulator's default reply)", 1024, None, 1),
    Case("b-long", "one 2,000-delta stream at a time (reply=long)", 2000, "reply=long", 1),
    Case("c-concurrent", f"{CONCURRENCY} concurrent short streams", 1024, None, CONCURRENCY),
)


@dataclass(frozen=True)
class Answer:
    """What every contender must agree on: the final message's text, stop reason and usage."""

    text: str
    stop_reason: str | None
    usage: dict[str, Any]
    deltas: int  # text deltas the contender saw (-1: not counted, the SDK hides its events)


def wire_answer(message: wire.Message | None, deltas: int = -1) -> Answer:
    if message is None:
        raise AssertionError("no message")
    text = "".join(getattr(block, "text", "") for block in message.content)
    return Answer(text, message.stop_reason, message.usage.to_dict(), deltas)


def sdk_answer(message: Any) -> Answer:
    text = "".join(getattr(block, "text", "") for block in message.content)
    usage = message.usage.model_dump(mode="json", exclude_unset=True)
    return Answer(text, message.stop_reason, usage, -1)


def expected_answer(case: Case) -> Answer:
    """The final message the emulator's reply model gives for the case's request."""
    from wire.testing import replies

    if case.fault == "reply=long":
        message = replies.LongReply(case.body, seed=SEED, message_id="msg_x").message()
    else:
        message = replies.make_reply(case.body, seed=SEED, message_id="msg_x").message
    final = wire.Message.from_dict(message)
    return wire_answer(final, final.usage.output_tokens)  # one text delta per output token


def same(got: Answer, want: Answer) -> str:
    """What differs between `got` and `want` ("" when nothing does)."""
    for name in ("text", "stop_reason", "usage"):
        if getattr(got, name) != getattr(want, name):
            mine, theirs = str(getattr(got, name)), str(getattr(want, name))
            at = next(
                (i for i, (a, b) in enumerate(zip(mine, theirs, strict=False)) if a != b), None
            )
            at = min(len(mine), len(theirs)) if at is None else at
            start = max(0, at - 20)  # show where they part, with a little before it
            return (
                f"{name} differs at character {at}: got {mine[start : at + 40]!r}, "
                f"want {theirs[start : at + 40]!r}"
            )
    if got.deltas not in (-1, want.deltas):
        return f"saw {got.deltas} text deltas, want {want.deltas}"
    return ""


# --- the emulator, in its own process -------------------------------------------------------------


@contextmanager
def emulator() -> Iterator[str]:
    """`python -m wire serve --port 0` on 127.0.0.1; yields its base URL, stops it after."""
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    command = [sys.executable, "-m", "wire", "serve", "--host", "127.0.0.1", "--port", "0"]
    command += ["--seed", str(SEED)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], START_SECONDS)
        # "wire emulator listening on http://127.0.0.1:PORT", or "" if it exited
        line = process.stdout.readline() if ready else ""
        if "listening on " not in line:
            raise SystemExit(f"wire serve did not start (exit status {process.poll()}): {line!r}")
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- sync contenders: open(url) yields stream(case) -> Answer -----------------------------------

StreamFn = Callable[[Case], Answer]
AsyncStreamFn = Callable[[Case], Awaitable[Answer]]


def _host_port(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    return parts.hostname, parts.port, f"{parts.hostname}:{parts.port}"


def _finish_events(connection: wire.ClientConnection, events: list[Any]) -> tuple[int, bool, bool]:
    """(text deltas, the response ended, the connection may be reused); raise on an error."""
    deltas = 0
    for event in events:
        if isinstance(event, wire.ContentBlockDelta):
            deltas += 1
        elif isinstance(event, wire.ResponseComplete):
            return deltas, True, event.reusable
        elif isinstance(event, wire.ErrorResponse | wire.StreamIncomplete):
            raise event.error
    return deltas, False, False


@contextmanager
def bare_sync(url: str) -> Iterator[StreamFn]:
    """The floor: one kept-alive socket, `ClientConnection` bytes in and out, nothing else."""
    host, port, host_header = _host_port(url)
    config = wire.APIConfig(api_key=KEY)
    held: list[tuple[socket.socket, wire.ClientConnection]] = []

    def stream(case: Case) -> Answer:
        request = wire.builders.create_message(
            config, stream=True, extra_headers=case.headers, **case.body
        )
        if not held:
            sock = socket.create_connection((host, port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            held.append((sock, wire.ClientConnection(host_header)))
        sock, connection = held[0]
        sock.sendall(connection.send_request(request))
        deltas = 0
        while True:
            n, done, reusable = _finish_events(
                connection, connection.receive_data(sock.recv(READ_SIZE))
            )
            deltas += n
            if done:
                break
        if not reusable:
            held.pop()[0].close()
        return wire_answer(connection.stream_message, deltas)

    try:
        yield stream
    finally:
        for sock, _ in held:
            sock.close()


@contextmanager
def wire_sync(url: str) -> Iterator[StreamFn]:
    """`wire.sync.Client` with its defaults (retries, timeouts, pool), proxies off."""
    with wire.sync.Client(api_key=KEY, base_url=url, proxy=None) as client:

        def stream(case: Case) -> Answer:
            deltas = 0
            with client.stream_message(extra_headers=case.headers, **case.body) as s:
                for event in s:
                    if isinstance(event, wire.ContentBlockDelta):
                        deltas += 1
                return wire_answer(s.message, deltas)

        yield stream


def sdk_sync_opener(anthropic: Any) -> Callable[[str], Any]:
    @contextmanager
    def sdk_sync(url: str) -> Iterator[StreamFn]:
        """The SDK's sync client, its ordinary streaming path."""
        with anthropic.Anthropic(base_url=url, api_key=KEY, max_retries=0) as client:

            def stream(case: Case) -> Answer:
                with client.messages.stream(extra_headers=case.headers, **case.body) as s:
                    return sdk_answer(s.get_final_message())

            yield stream

    return sdk_sync


# --- async contenders -----------------------------------------------------------------------------


@asynccontextmanager
async def bare_trio(url: str) -> AsyncIterator[AsyncStreamFn]:
    """The async floor: trio streams kept alive in a free list, `ClientConnection` on each."""
    import trio

    host, port, host_header = _host_port(url)
    config = wire.APIConfig(api_key=KEY)
    idle: list[tuple[trio.SocketStream, wire.ClientConnection]] = []
    opened: list[trio.SocketStream] = []

    async def stream(case: Case) -> Answer:
        request = wire.builders.create_message(
            config, stream=True, extra_headers=case.headers, **case.body
        )
        if idle:
            sock, connection = idle.pop()
        else:
            sock = await trio.open_tcp_stream(host, port)
            opened.append(sock)
            connection = wire.ClientConnection(host_header)
        await sock.send_all(connection.send_request(request))
        deltas = 0
        while True:
            data = await sock.receive_some(READ_SIZE)
            n, done, reusable = _finish_events(connection, connection.receive_data(data))
            deltas += n
            if done:
                break
        answer = wire_answer(connection.stream_message, deltas)
        if reusable:
            idle.append((sock, connection))
        else:
            await sock.aclose()
        return answer

    try:
        yield stream
    finally:
        for sock in opened:
            await sock.aclose()


def wire_async_opener(module: Any) -> Callable[[str], AbstractAsyncContextManager[AsyncStreamFn]]:
    @asynccontextmanager
    async def wire_async(url: str) -> AsyncIterator[AsyncStreamFn]:
        """`wire.trio.Client` / `wire.asyncio.Client` with their defaults, proxies off."""
        async with module.Client(api_key=KEY, base_url=url, proxy=None) as client:

            async def stream(case: Case) -> Answer:
                deltas = 0
                async with client.stream_message(extra_headers=case.headers, **case.body) as s:
                    async for event in s:
                        if isinstance(event, wire.ContentBlockDelta):
                            deltas += 1
                    return wire_answer(s.message, deltas)

            yield stream

    return wire_async


def sdk_async_opener(anthropic: Any) -> Callable[[str], AbstractAsyncContextManager[AsyncStreamFn]]:
    @asynccontextmanager
    async def sdk_async(url: str) -> AsyncIterator[AsyncStreamFn]:
        """The SDK's `AsyncAnthropic` on asyncio, its ordinary streaming path."""
        async with anthropic.AsyncAnthropic(base_url=url, api_key=KEY, max_retries=0) as client:

            async def stream(case: Case) -> Answer:
                async with client.messages.stream(extra_headers=case.headers, **case.body) as s:
                    return sdk_answer(await s.get_final_message())

            yield stream

    return sdk_async


# --- contenders -----------------------------------------------------------------------------------

BARE, SDK = "bare", "sdk"  # the two references every ratio is taken against


@dataclass
class Contender:
    name: str
    role: str  # BARE, SDK or "wire": what the ratios compare it with
    loop: str | None  # None: blocking; "trio" or "asyncio": concurrent streams on that loop
    open: Callable[[str], Any]
    note: str


def load_contenders(log: Callable[[str], None]) -> tuple[list[Contender], list[str]]:
    """The contenders that import here, and a line for each one skipped."""
    out = [
        Contender("bare-sync", BARE, None, bare_sync, "ClientConnection + blocking socket"),
        Contender("wire.sync", "wire", None, wire_sync, "wire.sync.Client, default settings"),
    ]
    skipped: list[str] = []
    try:
        import anthropic
    except ImportError:
        anthropic = None
        skipped.append("sdk, sdk-async: anthropic not installed")
    if anthropic is not None:
        version = f"anthropic {anthropic.__version__}, max_retries=0"
        out.append(Contender("sdk", SDK, None, sdk_sync_opener(anthropic), f"Anthropic, {version}"))
    try:
        import trio  # noqa: F401
    except ImportError:
        skipped.append("bare-trio: trio not installed")
    else:
        out.append(
            Contender("bare-trio", BARE, "trio", bare_trio, "ClientConnection + trio streams")
        )
    for loop in ("trio", "asyncio"):
        name = f"wire.{loop}"
        try:
            module = __import__(name, fromlist=["Client"])
            module.Client  # noqa: B018 (the pinned name must exist)
        except (ImportError, AttributeError) as exc:
            skipped.append(f"{name}: does not import here ({type(exc).__name__}: {exc})")
            continue
        out.append(
            Contender(
                name, "wire", loop, wire_async_opener(module), f"{name}.Client, default settings"
            )
        )
    if anthropic is not None:
        out.append(
            Contender(
                "sdk-async",
                SDK,
                "asyncio",
                sdk_async_opener(anthropic),
                f"AsyncAnthropic, {version}",
            )
        )
    for line in skipped:
        log(f"skipped {line}")
    return out, skipped


# --- sampling -------------------------------------------------------------------------------------


@dataclass
class Sample:
    cpu: float  # client CPU seconds per stream
    wall: float  # wall seconds per stream (a concurrent batch's wall time / its streams)


def _start() -> tuple[float, float]:
    gc.collect()
    gc.freeze()
    return time.process_time(), time.perf_counter()


def _stop(start: tuple[float, float], streams: int) -> Sample:
    cpu, wall = time.process_time() - start[0], time.perf_counter() - start[1]
    return Sample(cpu / streams, wall / streams)


def sync_sample(stream: StreamFn, case: Case, min_seconds: float) -> Sample:
    streams = 0
    start = _start()
    while True:
        stream(case)
        streams += 1
        if time.perf_counter() - start[1] >= min_seconds:
            return _stop(start, streams)


async def _batch_trio(stream: AsyncStreamFn, case: Case) -> list[Answer]:
    import trio

    answers: list[Answer] = []

    async def one() -> None:
        answers.append(await stream(case))

    async with trio.open_nursery() as nursery:
        for _ in range(case.concurrency):
            nursery.start_soon(one)
    return answers


async def _batch_asyncio(stream: AsyncStreamFn, case: Case) -> list[Answer]:
    return list(await asyncio.gather(*(stream(case) for _ in range(case.concurrency))))


async def _async_run(
    contender: Contender, url: str, case: Case, min_seconds: float | None
) -> Sample | list[Answer]:
    """In a fresh event loop: open the client, run one batch (warm: its connections open), then
    return that batch's answers (`min_seconds` None) or time batches for `min_seconds`."""
    batch = _batch_trio if contender.loop == "trio" else _batch_asyncio
    async with contender.open(url) as stream:
        answers = await batch(stream, case)
        if min_seconds is None:
            return answers
        batches = 0
        start = _start()
        while True:
            await batch(stream, case)
            batches += 1
            if batches >= MIN_BATCHES and time.perf_counter() - start[1] >= min_seconds:
                return _stop(start, batches * case.concurrency)


def run_async(contender: Contender, url: str, case: Case, min_seconds: float | None) -> Any:
    if contender.loop == "trio":
        import trio

        return trio.run(_async_run, contender, url, case, min_seconds)
    return asyncio.run(_async_run(contender, url, case, min_seconds))


@dataclass
class Result:
    case: Case
    contender: Contender
    samples: list[Sample] = field(default_factory=list)
    error: str = ""

    @property
    def cpu(self) -> float:
        return min(s.cpu for s in self.samples)

    @property
    def cpu_median(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    @property
    def wall(self) -> float:
        return min(s.wall for s in self.samples)

    @property
    def wall_median(self) -> float:
        return statistics.median(s.wall for s in self.samples)


def check(contender: Contender, url: str, case: Case, want: Answer) -> str:
    """What is wrong with the contender's answers ("" when each equals `want`)."""
    try:
        if contender.loop is None:
            with contender.open(url) as stream:
                answers = [stream(case), stream(case)]  # the second on a kept-alive connection
        else:
            answers = run_async(contender, url, case, None)
    except Exception as exc:  # a crash is a wrong answer too: report it, time nothing
        return f"{type(exc).__name__}: {exc}"
    if len(answers) != (2 if contender.loop is None else case.concurrency):
        return f"{len(answers)} answers"
    for answer in answers:
        if problem := same(answer, want):
            return problem
    return ""


def run_case(
    case: Case, contenders: list[Contender], url: str, rounds: int, log: Callable[[str], None]
) -> list[Result]:
    mine = [c for c in contenders if (c.loop is None) == (case.concurrency == 1)]
    want = expected_answer(case)
    results = [Result(case, c) for c in mine]
    timed = []
    for result in results:
        result.error = check(result.contender, url, case, want)
        if result.error:
            log(f"  WRONG ANSWER {result.contender.name} on {case.name}: {result.error}")
        else:
            timed.append(result)
    with ExitStack() as held:
        streams = {}  # the blocking clients stay open (and warm) across rounds
        for r in timed:
            if r.contender.loop is None:
                streams[r.contender.name] = held.enter_context(r.contender.open(url))
                streams[r.contender.name](case)
        for round_no in range(rounds):
            shift = round_no % len(timed) if timed else 0
            for result in timed[shift:] + timed[:shift]:
                c = result.contender
                if c.loop is None:
                    result.samples.append(sync_sample(streams[c.name], case, MIN_SAMPLE_SECONDS))
                else:
                    result.samples.append(run_async(c, url, case, MIN_SAMPLE_SECONDS))
            log(f"  round {round_no + 1}/{rounds} done")
    return results


# --- reporting ------------------------------------------------------------------------------------


def _ref(results: list[Result], r: Result, role: str) -> Result | None:
    """The result of the same case whose contender plays `role` (and runs the same way)."""
    for other in results:
        same_kind = (other.contender.loop is None) == (r.contender.loop is None)
        if other.case is r.case and other.contender.role == role and same_kind and other.samples:
            return other
    return None


def _ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:.3f}" if ms < 1 else f"{ms:.2f}" if ms < 100 else f"{ms:,.0f}"


def report(results: list[Result], rounds: int) -> list[dict[str, Any]]:
    print(
        f"\nClient CPU (time.process_time) and wall time per stream: best of {rounds} samples "
        f"(median beside it), each sample >= {MIN_SAMPLE_SECONDS} s of streams"
    )
    print(
        "x SDK = SDK CPU / contender CPU (> 1: less CPU than the SDK); "
        "x bare = contender CPU / bare loop CPU (1.00: no overhead over the floor)"
    )
    header = (
        f"{'case':<13} {'contender':<12} {'n':>2} {'CPU ms':>8} {'median':>8} "
        f"{'wall ms':>8} {'median':>8} {'streams/s':>9} {'x SDK':>7} {'x bare':>7}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    for r in results:
        if r.error:
            print(f"{r.case.name:<13} {r.contender.name:<12}    WRONG ANSWER, no figure: {r.error}")
            rows.append({"case": r.case.name, "contender": r.contender.name, "error": r.error})
            continue
        sdk, bare = _ref(results, r, SDK), _ref(results, r, BARE)
        x_sdk = None if sdk is None else sdk.cpu / r.cpu
        x_bare = None if bare is None else r.cpu / bare.cpu
        print(
            f"{r.case.name:<13} {r.contender.name:<12} {len(r.samples):>2} {_ms(r.cpu):>8} "
            f"{_ms(r.cpu_median):>8} {_ms(r.wall):>8} {_ms(r.wall_median):>8} "
            f"{1 / r.wall:>9,.0f} {'' if x_sdk is None else f'{x_sdk:.2f}x':>7} "
            f"{'' if x_bare is None else f'{x_bare:.2f}x':>7}"
        )
        rows.append(
            {
                "case": r.case.name,
                "contender": r.contender.name,
                "cpu_ms": [s.cpu * 1000 for s in r.samples],
                "wall_ms": [s.wall * 1000 for s in r.samples],
                "best_cpu_ms": r.cpu * 1000,
                "median_cpu_ms": r.cpu_median * 1000,
                "best_wall_ms": r.wall * 1000,
                "streams_per_s": 1 / r.wall,
                "x_sdk": x_sdk,
                "x_bare": x_bare,
            }
        )
    return rows


def targets(results: list[Result]) -> list[tuple[str, str, str]]:
    """(PASS/FAIL/SKIP, target, figure) for issue 13's targets."""

    def find(case: str, name: str) -> Result | None:
        for r in results:
            if r.case.name == case and r.contender.name == name and r.samples:
                return r
        return None

    out = []

    def ratio(case: str, name: str, ref: str, goal: float, title: str) -> None:
        r, other = find(case, name), find(case, ref)
        if r is None or other is None:
            out.append(("SKIP", title, f"{name} or {ref} not measured"))
            return
        x = other.cpu / r.cpu
        out.append(("PASS" if x >= goal else "FAIL", title, f"{x:.2f}x"))

    a_sync, a_bare = find("a-short", "wire.sync"), find("a-short", "bare-sync")
    title = "(a) wire.sync CPU within 25% of the bare loop"
    if a_sync is None or a_bare is None:
        out.append(("SKIP", title, "not measured"))
    else:
        over = a_sync.cpu / a_bare.cpu
        out.append(("PASS" if over <= 1.25 else "FAIL", title, f"{over:.2f}x the bare loop's CPU"))
    ratio("a-short", "wire.sync", "sdk", 3, "(a) wire.sync >= 3x less CPU than the SDK")
    ratio("b-long", "wire.sync", "sdk", 10, "(b) wire.sync >= 10x less CPU than the SDK")
    for name in ("wire.trio", "wire.asyncio"):
        ratio(
            "c-concurrent",
            name,
            "sdk-async",
            3,
            f"(c) {name} >= 3x less CPU per stream than AsyncAnthropic",
        )
        r, sdk = find("c-concurrent", name), find("c-concurrent", "sdk-async")
        title = f"(c) {name} more streams/s than AsyncAnthropic"
        if r is None or sdk is None:
            out.append(("SKIP", title, f"{name} or sdk-async not measured"))
        else:
            figure = f"{1 / r.wall:,.0f} vs {1 / sdk.wall:,.0f} streams/s"
            out.append(("PASS" if r.wall < sdk.wall else "FAIL", title, figure))
    return out


# --- profiling ------------------------------------------------------------------------------------


def profile(url: str, cases: list[Case], top: int) -> None:
    """cProfile of wire.sync.Client streaming each case (the figures carry cProfile's overhead)."""
    with wire_sync(url) as stream:
        for case in cases:
            if case.concurrency != 1:
                continue
            stream(case)  # warm: the connection is open and pooled
            count = max(5, 100_000 // case.max_tokens if case.fault else 300)
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(count):
                stream(case)
            profiler.disable()
            buf = io.StringIO()
            pstats.Stats(profiler, stream=buf).sort_stats("tottime").print_stats(top)
            print(
                f"=== cProfile: wire.sync.Client on {case.name}, {count} streams, "
                f"top {top} by tottime"
            )
            lines = buf.getvalue().splitlines()
            print(next((line.strip() for line in lines if "function calls" in line), ""))
            start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
            print("\n".join(line for line in lines[start:] if line.strip()) + "\n")


# --- main -----------------------------------------------------------------------------------------


def _load() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _select(names: list[str] | None) -> list[Case]:
    if not names:
        return list(CASES)
    chosen = [c for c in CASES if any(n in (c.name, c.letter) for n in names)]
    unknown = [n for n in names if not any(n in (c.name, c.letter) for c in CASES)]
    if unknown:
        valid = ", ".join(c.name for c in CASES)
        raise SystemExit(f"unknown case(s) {', '.join(unknown)}; choose from {valid} (or a, b, c)")
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_ROUNDS} rounds, not {DEFAULT_ROUNDS}"
    )
    parser.add_argument(
        "--rounds", type=int, help="rounds, i.e. samples per figure (overrides --quick)"
    )
    parser.add_argument(
        "--case",
        action="append",
        metavar="NAME",
        help="only this case (repeatable): a, b, c or a name",
    )
    parser.add_argument("--json", metavar="FILE", help="also write every sample and figure as JSON")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="print a cProfile of wire.sync.Client on (a) and (b), then exit",
    )
    args = parser.parse_args(argv)
    rounds = args.rounds or (QUICK_ROUNDS if args.quick else DEFAULT_ROUNDS)
    cases = _select(args.case)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    started, load_before = time.perf_counter(), _load()
    with emulator() as url:
        log(f"emulator (own process) at {url}")
        if args.profile:
            profile(url, cases, 25)
            return 0
        contenders, skipped = load_contenders(log)
        results: list[Result] = []
        for case in cases:
            log(f"{case.name}: {case.title}")
            results += run_case(case, contenders, url, rounds, log)
    gc.unfreeze()
    rows = report(results, rounds)
    print("\nContenders:")
    for c in contenders:
        print(f"  {c.name:<12} {c.note}")
    for line in skipped:
        print(f"  skipped {line}")
    print(f"  wire from {Path(wire.__file__).parent}")
    checks = targets(results)
    print("")
    for status, title, figure in checks:
        print(f"{status:<4}  {title}: {figure}")
    elapsed, load_after = time.perf_counter() - started, _load()
    print(
        f"\ntotal run time {elapsed:.0f} s; 1-minute load average {load_before} at start, "
        f"{load_after} at end on {os.cpu_count()} CPUs (other work on the cores distorts wall time "
        "and, less, CPU time)"
    )
    if args.json:
        payload = {
            "method": {"rounds": rounds, "min_sample_seconds": MIN_SAMPLE_SECONDS, "seed": SEED},
            "python": sys.version,
            "load_average": [load_before, load_after],
            "results": rows,
            "targets": [{"status": s, "target": t, "figure": f} for s, t, f in checks],
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
