"""The `wire` command line (also `python -m wire`).

Layer: application, on top of everything. Rules: an error prints one line on
stderr (with the request id when there is one; never a traceback, never the
key) and exits non-zero; Ctrl-C ends any command quietly with status 130.
Commands that call the API go through `wire.sync.Client`, the real API by
default (`--base-url` or `ANTHROPIC_BASE_URL` for another, e.g. the emulator).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from importlib import resources
from typing import IO, TYPE_CHECKING, Any, NoReturn, TypeVar

from ._errors import APIError, IncompleteStreamError, WireError
from ._stream import MessageStreamDecoder
from ._version import __version__

if TYPE_CHECKING:
    from ._batches import MessageBatch
    from ._call import Call
    from ._connection import ResponseHead
    from ._message import Message
    from ._ratelimit import Limit, RateLimits
    from .sync import Client

__all__ = ["main"]

_READ_SIZE = 64 * 1024
_MODEL = "claude-opus-4-6"
_V = TypeVar("_V")


class _Fail(Exception):
    """A command cannot go on: `message` is printed as one line, `code` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# `wire decode` prints strict JSON (RFC 8259), whatever the capture held:
# - a lone surrogate (a `"\ud800"` escape in the input) is written back as that
#   escape, so the line stays valid UTF-8 and reads back as the same string;
# - a number past a double's range (`1e999`, read as inf) is written as `1e999`
#   or `-1e999`: still a JSON number, read back as the same float; a NaN (only a
#   non-JSON `NaN` literal in the input makes one) is written as `null`.
_SURROGATE = re.compile("[\ud800-\udfff]")
_NON_FINITE = ("1e999", "-1e999", "null")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _dump(value: object, *, indent: int | None = None) -> str:
    """`value` as strict JSON text (see above); other text is kept as UTF-8, not escaped."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, indent=indent)
    except ValueError:  # a non-finite float
        text = _dump_non_finite(value, indent)
    return _SURROGATE.sub(_escape, text)


def _dump_non_finite(value: object, indent: int | None) -> str:
    """`json.dumps` with each non-finite float written as its `_NON_FINITE` token.

    Each such float becomes a marker string, then the marker's JSON text becomes
    the token. A marker must not equal any real string in `value`: if the count
    of its JSON text differs from the number of floats it replaced, try another.
    """
    attempt = 0
    while True:
        markers = tuple(f"\ue000wire{attempt}:{token}" for token in _NON_FINITE)
        counts = [0] * len(markers)
        text = json.dumps(_mark(value, markers, counts), ensure_ascii=False, indent=indent)
        quoted = [json.dumps(m, ensure_ascii=False) for m in markers]
        if all(text.count(q) == n for q, n in zip(quoted, counts, strict=True)):
            for q, token in zip(quoted, _NON_FINITE, strict=True):
                text = text.replace(q, token)
            return text
        attempt += 1


def _mark(value: object, markers: tuple[str, ...], counts: list[int]) -> object:
    """`value` with each non-finite float replaced by its marker (counted in `counts`)."""
    if isinstance(value, float) and not math.isfinite(value):
        kind = 2 if math.isnan(value) else (0 if value > 0 else 1)
        counts[kind] += 1
        return markers[kind]
    if isinstance(value, dict):
        return {k: _mark(v, markers, counts) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mark(v, markers, counts) for v in value]
    return value


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(_READ_SIZE):
        yield chunk


def _samples() -> list[str]:
    folder = resources.files("wire") / "samples"
    return sorted(p.name.removesuffix(".sse") for p in folder.iterdir() if p.name.endswith(".sse"))


def _open_input(args: argparse.Namespace) -> IO[bytes]:
    if args.sample:
        if args.sample not in _samples():
            known = ", ".join(_samples())
            raise _Fail(f"no sample named {args.sample!r} (the samples: {known})")
        path = resources.files("wire") / "samples" / f"{args.sample}.sse"
        return path.open("rb")
    if args.file in (None, "-"):
        return sys.stdin.buffer
    return _open(args.file)


def _open(name: str) -> IO[bytes]:
    """`name` opened for reading; a failure names the file and says why."""
    try:
        return open(name, "rb")
    except OSError as exc:
        raise _Fail(f"cannot read {name}: {exc.strerror or exc}") from None


def _decode(args: argparse.Namespace) -> int:
    source = _open_input(args)
    try:
        first = source.readline(_READ_SIZE)
        if _is_capture(first):
            return _decode_capture(args, first, source)
        return _decode_stream(args, first, source)
    finally:
        if source is not sys.stdin.buffer:
            source.close()


def _decode_stream(args: argparse.Namespace, first: bytes, source: IO[bytes]) -> int:
    decoder = MessageStreamDecoder()
    try:
        for chunk in _chain(first, source):
            for event in decoder.feed(chunk):
                if not args.message:
                    print(_dump(event.to_dict()), flush=True)
        decoder.close()
    except IncompleteStreamError as exc:
        if args.message and exc.partial_message is not None:
            print(_dump(exc.partial_message.to_dict(), indent=2))
        raise
    if args.message and decoder.message is not None:
        print(_dump(decoder.message.to_dict(), indent=2))
    return 0


def _is_capture(line: bytes) -> bool:
    """Whether `line` is a capture's header line (`wire record`'s files)."""
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):
        return False
    return isinstance(value, dict) and value.get("type") == "wire-capture"


def _is_stream(headers: tuple[tuple[str, str], ...]) -> bool:
    media = next((v for k, v in headers if k.lower() == "content-type"), "")
    return media.split(";", 1)[0].strip().lower() == "text/event-stream"


def _chain(first: bytes, source: IO[bytes]) -> Iterator[bytes]:
    yield first
    yield from _chunks(source)


def _decode_capture(args: argparse.Namespace, first: bytes, source: IO[bytes]) -> int:
    """Each event-stream exchange of a capture (or `--exchange N`), decoded in turn.

    A line per exchange on stderr names it; the first one cut short is raised
    at the end, after every exchange was printed.
    """
    import io

    from .testing.capture import DEFAULT_MAX_CAPTURE_BYTES, read_capture

    rest = source.read(DEFAULT_MAX_CAPTURE_BYTES + 1)  # read_capture enforces the limit
    exchanges = [
        e
        for e in read_capture(io.BytesIO(first + rest))
        if e.response is not None
        and (e.id == args.exchange or (args.exchange is None and _is_stream(e.response.headers)))
    ]
    if args.exchange is not None and not exchanges:
        raise _Fail(f"the capture has no exchange {args.exchange} with a response")
    failure: IncompleteStreamError | None = None
    for exchange in exchanges:
        request = exchange.request
        print(f"exchange {exchange.id}: {request.method} {request.target}", file=sys.stderr)
        try:
            _decode_stream(args, exchange.body, io.BytesIO())
        except IncompleteStreamError as exc:
            failure = failure or exc
    if failure is not None:
        raise failure
    return 0


def _needs_trio(command: str, exc: ImportError) -> int:
    print(
        f"wire: error: wire {command} needs trio ({exc.name} is missing): pip install 'wire[trio]'",
        file=sys.stderr,
    )
    return 1


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    """The exceptions inside `exc`, exception groups (trio's) opened all the way down."""
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc


@contextlib.contextmanager
def _listening(host: str, port: int) -> Iterator[None]:
    """A failure to listen (port in use, unknown host) as one line naming the address."""
    try:
        yield
    except (OSError, BaseExceptionGroup) as exc:
        error = next((e for e in _leaves(exc) if isinstance(e, OSError)), None)
        if error is None or any(isinstance(e, KeyboardInterrupt) for e in _leaves(exc)):
            raise
        if error.errno == errno.EADDRINUSE:
            reason = "the port is in use (pick another with --port, or --port 0 for any free one)"
        else:
            reason = error.strerror or str(error)
        raise _Fail(f"cannot listen on {host}:{port}: {reason}") from None


def _serve(args: argparse.Namespace) -> int:
    try:
        from .testing.server import run
    except ImportError as exc:  # trio is an extra
        return _needs_trio("serve", exc)

    replay = _replay(args)
    name = "wire emulator" if replay is None else f"wire replay of {replay[1]}"

    def ready(server: object) -> None:
        print(f"{name} listening on {server.base_url}", flush=True)  # type: ignore[attr-defined]

    context = None
    if args.tls_cert or args.tls_key:
        if not (args.tls_cert and args.tls_key):
            print("wire serve: error: --tls-cert and --tls-key go together", file=sys.stderr)
            return 2
        import ssl

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as exc:  # a missing file, or not a PEM cert/key pair
            print(f"wire serve: error: cannot load the TLS certificate: {exc}", file=sys.stderr)
            return 2

    with _listening(args.host, args.port):
        if replay is not None:
            run(args.host, args.port, ssl_context=context, on_ready=ready, replay=replay[0])
            return 0
        run(
            args.host,
            args.port,
            api_key=args.api_key,
            seed=args.seed,
            ssl_context=context,
            batch_seconds=args.batch_seconds,
            pace=args.pace,
            enforce_limits=args.enforce_limits,
            tier=args.tier,
            minute_seconds=args.minute_seconds,
            lenient=args.lenient,
            chaos=args.chaos,
            on_chaos=lambda record: print(f"wire serve: {record}", file=sys.stderr, flush=True),
            on_ready=ready,
        )
    return 0


def _replay(args: argparse.Namespace) -> tuple[Any, str] | None:
    """`--replay FILE` loaded (a `Replay`, and how to name it), or None to emulate."""
    if args.replay is None:
        return None
    from .testing.capture import CaptureError
    from .testing.replay import Replay

    try:
        replay = Replay.load(args.replay, speed=args.speed)
    except OSError as exc:
        raise _Fail(f"cannot read {args.replay}: {exc.strerror or exc}") from None
    except CaptureError as exc:
        raise _Fail(f"{args.replay}: {exc}") from None
    count = len(replay.exchanges)
    return replay, f"{os.path.basename(args.replay)} ({count} exchange{'s' * (count != 1)})"


def _record(args: argparse.Namespace) -> int:
    """`wire record --upstream URL --out FILE`, or `wire record --to-har CAPTURE [--out FILE]`."""
    from .testing.capture import CaptureWriter

    if args.to_har:
        return _to_har(args)
    if not args.upstream or not args.out:
        raise _Fail("wire record needs --upstream URL and --out FILE (or --to-har CAPTURE)", 2)
    try:
        from .testing.recorder import run
    except ImportError as exc:  # trio is an extra
        return _needs_trio("record", exc)
    from ._call import _parse_base_url

    _parse_base_url(args.upstream)  # a bad URL fails here, before the file is made

    def ready(recorder: Any) -> None:
        print(f"wire record: {recorder.base_url} -> {args.upstream}, into {args.out}", flush=True)

    def done(line: str) -> None:
        print(f"wire record: {line}", file=sys.stderr, flush=True)

    try:
        writer = CaptureWriter.create(args.out, upstream=args.upstream)
    except OSError as exc:
        raise _Fail(f"cannot write {args.out}: {exc.strerror or exc}") from None
    with writer, _listening(args.host, args.port):
        options = {"timeout": args.timeout, "on_ready": ready, "on_exchange": done}
        run(args.upstream, writer, host=args.host, port=args.port, **options)
    return 0


def _to_har(args: argparse.Namespace) -> int:
    from .testing.capture import load_capture
    from .testing.har import to_har

    text = _dump(to_har(load_capture(args.to_har)), indent=2) + "\n"
    if args.out in (None, "-"):
        sys.stdout.write(text)
        return 0
    try:
        with open(args.out, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        raise _Fail(f"cannot write {args.out}: {exc.strerror or exc}") from None
    return 0


# --- talking to the API ----------------------------------------------------------------


def _client(args: argparse.Namespace) -> Client:
    from .sync import Client

    return Client(
        api_key=args.api_key or None,
        base_url=args.base_url,
        max_retries=args.max_retries,
        timeout=args.timeout,
    )


def _run(client: Client, call: Call[_V]) -> tuple[_V, ResponseHead | None]:
    """Run one call through `client`: its value and the response head (request id, limits)."""
    value = client._run(call)
    return value, call.response


def _messages(args: argparse.Namespace) -> dict[str, Any]:
    """The message fields the prompt options give: model, messages, system."""
    fields: dict[str, Any] = {
        "model": args.model,
        "messages": [{"role": "user", "content": " ".join(args.prompt)}],
    }
    if args.system is not None:
        fields["system"] = args.system
    return fields


def _text(message: Message) -> str:
    """The message's text blocks, and a `[type]` mark for each other block."""
    from ._message import TextBlock

    parts = [b.text if isinstance(b, TextBlock) else f"[{b.type}]" for b in message.content]
    return "".join(parts)


def _summary(message: Message | None, head: ResponseHead | None) -> str:
    request_id = None if head is None else head.request_id
    if message is None:
        return f"no message; request id: {request_id}"
    usage = message.usage
    return (
        f"stop reason: {message.stop_reason}; usage: {usage.input_tokens} input, "
        f"{usage.output_tokens} output tokens; request id: {request_id}"
    )


def _send(args: argparse.Namespace) -> int:
    with _client(args) as client:
        call = client._session.create_message(max_tokens=args.max_tokens, **_messages(args))
        message, head = _run(client, call)
    if args.json:
        print(_dump(message.to_dict(), indent=2), flush=True)
    else:
        print(_text(message), flush=True)
    print(_summary(message, head), file=sys.stderr)
    return 0


def _delta_text(event: object) -> str | None:
    """The text a `text_delta` event adds; None for every other event."""
    from ._events import ContentBlockDelta, TextDelta

    if isinstance(event, ContentBlockDelta) and isinstance(event.delta, TextDelta):
        return event.delta.text
    return None


def _stream(args: argparse.Namespace) -> int:
    with _client(args) as client:
        stream = client.stream_message(max_tokens=args.max_tokens, **_messages(args))
        with stream:
            for event in stream:
                if args.json:
                    print(_dump(event.to_dict()), flush=True)
                elif (text := _delta_text(event)) is not None:
                    print(text, end="", flush=True)
    if not args.json:
        print(flush=True)
    print(_summary(stream.message, stream.response), file=sys.stderr)
    return 0


def _count_tokens(args: argparse.Namespace) -> int:
    with _client(args) as client:
        print(client.count_tokens(**_messages(args)))
    return 0


def _models(args: argparse.Namespace) -> int:
    with _client(args) as client:
        for model in client.list_models():
            if args.json:
                print(_dump(model.to_dict()), flush=True)
            else:
                print(f"{model.id:<32} {model.display_name:<24} {model.created_at}", flush=True)
    return 0


# --- rate limits -------------------------------------------------------------------------

_LIMITS = (
    ("requests", "requests"),
    ("tokens", "tokens"),
    ("input_tokens", "input tokens"),
    ("output_tokens", "output tokens"),
    ("priority_input_tokens", "priority input tokens"),
    ("priority_output_tokens", "priority output tokens"),
)


def _known(limits: RateLimits) -> Iterator[tuple[str, Limit]]:
    for attr, name in _LIMITS:
        limit: Limit = getattr(limits, attr)
        if limit.limit is not None or limit.remaining is not None:
            yield name, limit


def _left(limit: Limit) -> str:
    def n(value: int | None) -> str:
        return "?" if value is None else f"{value:,}"

    return f"{n(limit.remaining)}/{n(limit.limit)}"


def _limits_left(limits: RateLimits) -> str:
    """One line: what is left of each limit the response reported."""
    parts = [f"{name} {_left(limit)}" for name, limit in _known(limits)]
    return "rate limits left: " + (", ".join(parts) or "none reported")


def _budget(client: Client, args: argparse.Namespace, watching: bool) -> list[str]:
    """One small request (max_tokens 1): the lines showing the budget its response reports.

    While watching, a 429 (after the client's retries) is shown too, with the limits it
    carried, and the watch goes on.
    """
    from ._budget import budget_json, budget_table
    from ._errors import RateLimitError
    from ._ratelimit import RateLimits, model_class

    call = client._session.create_message(max_tokens=1, **_messages(args))
    try:
        _, head = _run(client, call)
    except RateLimitError as exc:
        if not watching:
            raise
        limits = RateLimits.from_headers(exc.headers, now=time.time())
        wait = "?" if limits.retry_after is None else f"{limits.retry_after:g}"
        title = f"answered 429, retry after {wait} s; request id {exc.request_id}"
    else:
        assert head is not None  # a call that returned has its response
        limits, title = head.rate_limits, f"request id {head.request_id}"
    if args.json:
        return [_dump(budget_json(limits))]
    title = f"rate limits for {args.model} (class {model_class(args.model)}; {title}):"
    return [title, *budget_table(limits, time.time())]


def _limits(args: argparse.Namespace) -> int:
    """The budget once, or (`--watch`) every few seconds until Ctrl-C or `--count` rounds."""
    watching = args.watch is not None
    rounds = args.count if watching else 1
    redraw = watching and not args.json and sys.stdout.isatty()
    shown = 0
    with _client(args) as client:
        while True:
            lines = _budget(client, args, watching)
            if redraw and shown:  # back to the table's first line, and clear below it
                print(f"\x1b[{shown}F\x1b[J", end="")
            elif shown and not args.json:
                print()
            print("\n".join(lines), flush=True)
            shown = len(lines)
            rounds = None if rounds is None else rounds - 1
            if rounds == 0:
                return 0
            time.sleep(args.watch)


# --- batches ---------------------------------------------------------------------------


def _batch_requests(name: str) -> list[dict[str, Any]]:
    """FILE.jsonl read: one `{"custom_id", "params"}` object a line (blank lines skipped)."""
    requests = []
    with _open(name) as source:
        for number, line in enumerate(source, 1):
            if not line.strip():
                continue
            try:
                requests.append(json.loads(line))
            except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError alike
                raise _Fail(f"{name}, line {number}: not JSON ({exc})") from None
    if not requests:
        raise _Fail(f"{name}: no requests (one JSON object a line)")
    return requests


def _counts(batch: MessageBatch) -> str:
    c = batch.request_counts
    return (
        f"{c.processing} processing, {c.succeeded} succeeded, {c.errored} errored, "
        f"{c.canceled} canceled, {c.expired} expired"
    )


def _batch_line(batch: MessageBatch) -> str:
    return f"{batch.id}: {batch.processing_status}; {_counts(batch)}"


def _print_batch(batch: MessageBatch, as_json: bool) -> None:
    print(_dump(batch.to_dict(), indent=2) if as_json else _batch_line(batch), flush=True)


def _batch_create(args: argparse.Namespace) -> int:
    requests = _batch_requests(args.file)
    with _client(args) as client:
        _print_batch(client.create_batch(requests), args.json)
    return 0


def _batch_status(args: argparse.Namespace) -> int:
    with _client(args) as client:
        _print_batch(client.get_batch(args.id), args.json)
    return 0


def _bar(batch: MessageBatch, width: int = 30) -> str:
    """A progress bar of the requests no longer processing."""
    c = batch.request_counts
    done = c.total - c.processing
    filled = width * done // c.total if c.total else width
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{c.total} {batch.processing_status}"


def _batch_watch(args: argparse.Namespace) -> int:
    """Poll the batch until it ends: a live bar on a terminal, a line per change otherwise."""
    live = sys.stdout.isatty()
    last = ""
    with _client(args) as client:
        while True:
            batch = client.get_batch(args.id)
            if live:
                print(f"\r{_bar(batch)} ({_counts(batch)})\x1b[K", end="", flush=True)
            elif (line := _batch_line(batch)) != last:
                print(line, flush=True)
                last = line
            if batch.processing_status == "ended":
                break
            time.sleep(args.interval)
    if live:
        print()
    return 0


def _batch_results(args: argparse.Namespace) -> int:
    with _client(args) as client:
        for result in client.batch_results(args.id):
            print(_dump(result.to_dict()), flush=True)
    return 0


# --- the demo --------------------------------------------------------------------------


def _show(event: Any) -> str:
    """A typed event on one line: its class, then its fields as JSON."""
    fields = {k: v for k, v in event.to_dict().items() if k != "type"}
    return f"{type(event).__name__:<18} {_dump(fields)}"


def _demo(args: argparse.Namespace) -> int:
    """The emulator on loopback and one real streamed request to it through `wire.sync.Client`:
    text (or `--events`: the typed events) printed as it arrives, then usage, stop reason,
    request id, rate limits left and timings."""
    from .sync import Client

    try:
        from .testing.server import serve
    except ImportError as exc:  # trio is an extra
        return _needs_trio("demo", exc)

    prompt = " ".join(args.prompt) or "Tell me about the weather in Paris"
    messages = [{"role": "user", "content": prompt}]
    with serve(seed=args.seed, pace=args.pace) as server:
        print(
            f"wire demo: the reply comes from wire's API emulator on this machine "
            f"({server.base_url}): synthetic text, no model and no network involved."
        )
        print(f"wire demo: streaming a reply to {prompt!r}\n")
        with Client(api_key="sk-demo", base_url=server.base_url, proxy=None) as client:
            start = time.perf_counter()
            first: float | None = None
            with client.stream_message(
                model=args.model, max_tokens=args.max_tokens, messages=messages
            ) as stream:
                for event in stream:
                    text = _delta_text(event)
                    if text is not None:
                        first = first or time.perf_counter()
                    if args.events:
                        print(_show(event), flush=True)
                    elif text is not None:
                        print(text, end="", flush=True)
            total = time.perf_counter() - start
    message, head = stream.message, stream.response
    if message is None or head is None:
        raise IncompleteStreamError("the stream carried no message", None)
    print(f"\n{_summary(message, head)}" if args.events else f"\n\n{_summary(message, head)}")
    print(_limits_left(head.rate_limits))
    ttft = f"{(first - start) * 1000:.1f} ms" if first else "n/a"
    print(f"time to first token: {ttft}; total: {total * 1000:.1f} ms (wire.sync.Client)")
    return 0


# --- arguments -------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error on one line (it prints the usage block otherwise)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _number(kind: Callable[[str], Any], low: float, high: float, what: str) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return value

    parse.__name__ = what  # argparse names the type in some messages
    return parse


_port = _number(int, 0, 65535, "a port number (0 to 65535; 0: any free port)")
_count = _number(int, 0, 1_000_000, "a whole number >= 0")
_tokens = _number(int, 1, 10_000_000, "a number of tokens >= 1")
_rounds = _number(int, 1, 1_000_000, "a whole number >= 1")
_seconds = _number(float, 0.001, 1e6, "a number of seconds > 0")
_speed = _number(float, 0, 1e6, "a speed (1: the recorded pace, 10: ten times faster, 0: at once)")


def _chaos(text: str) -> object:
    """`--chaos SEED[:RATE]`, checked here (the emulator module needs nothing else)."""
    from .testing.chaos import Chaos

    try:
        return Chaos.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _api_options() -> argparse.ArgumentParser:
    """The options of every command that calls the API."""
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("API options")
    group.add_argument(
        "--base-url",
        help="the API's URL (default: ANTHROPIC_BASE_URL, else https://api.anthropic.com)",
    )
    group.add_argument("--api-key", help="the API key (default: ANTHROPIC_API_KEY); never printed")
    group.add_argument("--max-retries", type=_count, default=2, help="retries (default: 2)")
    group.add_argument(
        "--timeout", type=_seconds, default=None, help="seconds for each wait (default: wire's)"
    )
    group.add_argument("--json", action="store_true", help="print JSON instead of text")
    return options


def _prompt_options(max_tokens: bool = True) -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("prompt", nargs="+", help="the user message (words are joined)")
    options.add_argument("--model", default=_MODEL, help=f"(default: {_MODEL})")
    options.add_argument("--system", help="a system prompt")
    if max_tokens:
        options.add_argument("--max-tokens", type=_tokens, default=1024, help="(default: 1024)")
    return options


def _limits_command(commands: Any, api: argparse.ArgumentParser) -> None:
    limits = commands.add_parser(
        "limits",
        parents=[api],
        help="the rate-limit budget a request reports (--watch: again and again)",
        description="Send one small message (max_tokens 1) and print the budget its response "
        "reports, as a table: each limit, what remains of it, the share left and when it is "
        "full again. --watch repeats every few seconds until Ctrl-C (each round is one such "
        "request).",
    )
    limits.add_argument("--model", default=_MODEL, help=f"(default: {_MODEL})")
    limits.add_argument(
        "--watch",
        type=_seconds,
        nargs="?",
        const=2.0,
        metavar="SECONDS",
        help="redraw every SECONDS (default: 2) until Ctrl-C",
    )
    limits.add_argument("--count", type=_rounds, default=None, help=argparse.SUPPRESS)
    limits.set_defaults(run=_limits, prompt=["Hi"], system=None)


def _api_commands(commands: Any) -> None:
    api = _api_options()
    prompt = _prompt_options()
    for name, run, what in (
        ("send", _send, "send a message; print the reply (summary on stderr)"),
        ("stream", _stream, "stream a message; print the text as it arrives"),
    ):
        command = commands.add_parser(name, parents=[api, prompt], help=what, description=what)
        command.set_defaults(run=run)
    count = commands.add_parser(
        "count-tokens", parents=[api, _prompt_options(max_tokens=False)], help="count tokens"
    )
    count.set_defaults(run=_count_tokens)
    models = commands.add_parser("models", parents=[api], help="list the models")
    models.set_defaults(run=_models)
    _limits_command(commands, api)
    batch = commands.add_parser("batch", help="message batches: create, status, watch, results")
    actions = batch.add_subparsers(dest="action", required=True, parser_class=_Parser)
    create = actions.add_parser(
        "create", parents=[api], help='create a batch from FILE.jsonl ({"custom_id", "params"})'
    )
    create.add_argument("file", help="one request a line")
    create.set_defaults(run=_batch_create)
    for name, run, what in (
        ("status", _batch_status, "print a batch's status and request counts"),
        ("watch", _batch_watch, "follow a batch until it ends (a live bar on a terminal)"),
        ("results", _batch_results, "print a batch's results as JSON lines"),
    ):
        action = actions.add_parser(name, parents=[api], help=what, description=what)
        action.add_argument("id", help="the batch id (msgbatch_...)")
        action.set_defaults(run=run)
        if name == "watch":
            action.add_argument(
                "--interval", type=_seconds, default=2.0, help="seconds between polls (default: 2)"
            )


def _record_command(commands: Any) -> None:
    record = commands.add_parser(
        "record",
        help="a recording reverse proxy: forward to --upstream, write each exchange to --out",
        description="Listen (loopback by default) and forward every request to --upstream, "
        "streaming each answer back while writing the exchange to a capture file (keys "
        "redacted), until Ctrl-C; one line per exchange on stderr. With --to-har, convert a "
        "capture to HTTP Archive 1.2 instead (to --out, or stdout). See docs/capture.md.",
    )
    record.add_argument("--upstream", metavar="URL", help="where to forward, e.g. the API")
    record.add_argument("--host", default="127.0.0.1")
    record.add_argument("--port", type=_port, default=8081, help="(default: 8081; 0: any)")
    record.add_argument("--out", metavar="FILE", help="the capture to write (or the HAR file)")
    record.add_argument("--to-har", metavar="CAPTURE", help="export CAPTURE as HAR 1.2 JSON")
    record.add_argument(
        "--timeout", type=_seconds, default=None, help="upstream seconds for each wait"
    )
    record.set_defaults(run=_record)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="wire", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"wire {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    decode = commands.add_parser(
        "decode",
        help="decode a captured Messages SSE stream into typed events (JSON lines)",
        description="Decode a captured Messages SSE stream: one typed event per line as JSON "
        "(or the accumulated message). The output is always strict JSON in UTF-8: a lone "
        "surrogate is written as its \\u escape, a number past a double's range as 1e999 "
        "or -1e999, a NaN literal as null.",
    )
    decode.add_argument("file", nargs="?", help="the capture; '-' or nothing for stdin")
    decode.add_argument(
        "--sample", metavar="NAME", help="decode a capture bundled with wire (e.g. tool_use)"
    )
    decode.add_argument(
        "--message", action="store_true", help="print the accumulated message instead of the events"
    )
    decode.add_argument(
        "--exchange",
        type=int,
        metavar="N",
        help="with a capture (wire record): decode exchange N only (default: every stream)",
    )
    decode.set_defaults(run=_decode)
    demo = commands.add_parser(
        "demo", help="stream a reply from the emulator on loopback (offline), printed live"
    )
    demo.add_argument("prompt", nargs="*", help="the prompt (a default one otherwise)")
    demo.add_argument("--model", default="claude-opus-4-6")
    demo.add_argument("--max-tokens", type=_tokens, default=120)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument(
        "--pace",
        type=float,
        default=300.0,
        help="emulated tokens per second (0: as fast as possible)",
    )
    demo.add_argument(
        "--events", action="store_true", help="print the typed events as they come, not the text"
    )
    demo.set_defaults(run=_demo)
    serve = commands.add_parser("serve", help="run the API emulator (for tests; loopback only)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8080)
    serve.add_argument(
        "--api-key", default=None, help="accept only this key (default: any non-empty key)"
    )
    serve.add_argument("--seed", type=int, default=0, help="replies are a function of the seed")
    serve.add_argument(
        "--batch-seconds", type=float, default=1.0, help="how long a message batch takes to end"
    )
    serve.add_argument(
        "--pace",
        type=float,
        default=0.0,
        help="stream at most this many tokens per second (0: no pacing)",
    )
    serve.add_argument(
        "--enforce-limits",
        action="store_true",
        help="answer 429 past the per-minute limits (they are only reported by default)",
    )
    serve.add_argument(
        "--tier",
        type=int,
        choices=(1, 2, 3, 4),
        default=None,
        help="per-model-class limits of this usage tier (docs/emulator.md; default: 1,000 "
        "requests, 80,000 input and 16,000 output tokens a minute for every class)",
    )
    serve.add_argument(
        "--minute-seconds",
        type=_seconds,
        default=60.0,
        metavar="S",
        help="how long a rate-limit minute lasts (default: 60), to test whole windows fast",
    )
    serve.add_argument(
        "--lenient",
        action="store_true",
        help="accept any well-formed request (unknown fields, models and betas) instead of "
        "validating as the API does",
    )
    serve.add_argument(
        "--chaos",
        type=_chaos,
        metavar="SEED[:RATE]",
        help="inject faults into a seeded share RATE (default 0.1) of requests; "
        "each one is logged to stderr",
    )
    serve.add_argument(
        "--tls-cert", metavar="FILE", help="serve HTTPS with this PEM certificate (chain)"
    )
    serve.add_argument("--tls-key", metavar="FILE", help="the PEM private key for --tls-cert")
    serve.add_argument(
        "--replay", metavar="FILE", help="answer from this capture instead of emulating"
    )
    serve.add_argument(
        "--speed",
        type=_speed,
        default=1.0,
        help="with --replay: 1 the recorded pace, 10 ten times faster, 0 at once",
    )
    serve.set_defaults(run=_serve)
    _record_command(commands)
    _api_commands(commands)
    return parser


def _redact(text: str, argv: Sequence[str] | None) -> str:
    """`text` without the API key in it (from --api-key or the environment)."""
    args = list(sys.argv[1:] if argv is None else argv)
    keys = [os.environ.get("ANTHROPIC_API_KEY", ""), os.environ.get("ANTHROPIC_AUTH_TOKEN", "")]
    for i, arg in enumerate(args):
        if arg == "--api-key" and i + 1 < len(args):
            keys.append(args[i + 1])
        elif arg.startswith("--api-key="):
            keys.append(arg.partition("=")[2])
    for key in keys:
        if len(key) >= 4:  # in any case: a host name, for one, comes back lower-cased
            text = re.sub(re.escape(key), "[the key]", text, flags=re.IGNORECASE)
    return text


def _one_line(exc: BaseException) -> str:
    """What went wrong, in one line."""
    if isinstance(exc, _Fail):
        text = str(exc)
    elif isinstance(exc, APIError):
        text = f"{type(exc).__name__}: {exc}"  # its text ends with the request id
    elif isinstance(exc, WireError):
        text = f"{type(exc).__name__}: {exc}"
    elif isinstance(exc, OSError):
        text = exc.strerror or str(exc)
        if exc.filename is not None:
            text = f"{exc.filename}: {text}"
    else:  # a bug in wire: still one line, with what a report needs
        text = f"unexpected {type(exc).__name__}: {exc} (a bug in wire: please report it)"
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        code: int = args.run(args)
    except BaseException as exc:  # every outcome but success ends here, as one line at most
        return _outcome(exc, argv)
    return code


def _outcome(exc: BaseException, argv: Sequence[str] | None) -> int:
    leaves = list(_leaves(exc))
    if isinstance(exc, SystemExit):  # --help, --version, a usage error: argparse has spoken
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    if any(isinstance(e, KeyboardInterrupt) for e in leaves):
        return 130  # Ctrl-C: quietly, as shells expect
    if any(isinstance(e, BrokenPipeError) for e in leaves):
        # The reader went away (`wire decode ... | head`): stop quietly, as Unix
        # tools do, and keep Python from complaining when it flushes stdout.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    first = leaves[0]
    with contextlib.suppress(BrokenPipeError):
        sys.stdout.flush()
    print(f"wire: error: {_redact(_one_line(first), argv)}", file=sys.stderr)
    return first.code if isinstance(first, _Fail) else 1
