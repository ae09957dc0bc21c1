"""The commands that work without the API: decode, serve (and replay), record, demo."""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import sys
import time
from collections.abc import Iterator
from importlib import resources
from typing import IO, TYPE_CHECKING, Any

from wire._errors import IncompleteStreamError
from wire._stream import MessageStreamDecoder

from ._api import _delta_text, _limits_left, _summary
from ._common import _READ_SIZE, _dump, _Fail, _leaves, _needs_trio

if TYPE_CHECKING:
    pass


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

    from wire.testing.capture import DEFAULT_MAX_CAPTURE_BYTES, read_capture

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
        from wire.testing.server import run
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
    from wire.testing.capture import CaptureError
    from wire.testing.replay import Replay

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
    from wire.testing.capture import CaptureWriter

    if args.to_har:
        return _to_har(args)
    if not args.upstream or not args.out:
        raise _Fail("wire record needs --upstream URL and --out FILE (or --to-har CAPTURE)", 2)
    try:
        from wire.testing.recorder import run
    except ImportError as exc:  # trio is an extra
        return _needs_trio("record", exc)
    from wire._call import _parse_base_url

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
        options["client_timeout"] = args.client_timeout
        run(args.upstream, writer, host=args.host, port=args.port, **options)
    return 0


def _to_har(args: argparse.Namespace) -> int:
    from wire.testing.capture import load_capture
    from wire.testing.har import to_har

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


# --- the demo --------------------------------------------------------------------------


def _show(event: Any) -> str:
    """A typed event on one line: its class, then its fields as JSON."""
    fields = {k: v for k, v in event.to_dict().items() if k != "type"}
    return f"{type(event).__name__:<18} {_dump(fields)}"


def _demo(args: argparse.Namespace) -> int:
    """The emulator on loopback and one real streamed request to it through `wire.sync.Client`:
    text (or `--events`: the typed events) printed as it arrives, then usage, stop reason,
    request id, rate limits left and timings."""
    from wire.sync import Client

    try:
        from wire.testing.server import serve
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
