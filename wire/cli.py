"""The `wire` command line (also `python -m wire`).

Layer: application, on top of everything. Rule: errors print one line on
stderr (never a traceback, never a key) and exit non-zero.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import sys
from collections.abc import Iterator, Sequence
from importlib import resources
from typing import IO

from ._errors import IncompleteStreamError, WireError
from ._stream import MessageStreamDecoder
from ._version import __version__

__all__ = ["main"]

_READ_SIZE = 64 * 1024


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


def _open_input(args: argparse.Namespace) -> IO[bytes]:
    if args.sample:
        path = resources.files("wire") / "samples" / f"{args.sample}.sse"
        return path.open("rb")
    if args.file in (None, "-"):
        return sys.stdin.buffer
    return open(args.file, "rb")


def _decode(args: argparse.Namespace) -> int:
    decoder = MessageStreamDecoder()
    source = _open_input(args)
    try:
        for chunk in _chunks(source):
            for event in decoder.feed(chunk):
                if not args.message:
                    print(_dump(event.to_dict()), flush=True)
        decoder.close()
    except IncompleteStreamError as exc:
        if args.message and exc.partial_message is not None:
            print(_dump(exc.partial_message.to_dict(), indent=2))
        raise
    finally:
        if source is not sys.stdin.buffer:
            source.close()
    if args.message and decoder.message is not None:
        print(_dump(decoder.message.to_dict(), indent=2))
    return 0


def _needs_trio(command: str, exc: ImportError) -> int:
    print(
        f"wire: error: wire {command} needs trio ({exc.name} is missing): pip install 'wire[trio]'",
        file=sys.stderr,
    )
    return 1


def _serve(args: argparse.Namespace) -> int:
    try:
        from .testing.server import run
    except ImportError as exc:  # trio is an extra
        return _needs_trio("serve", exc)

    def ready(server: object) -> None:
        print(f"wire emulator listening on {server.base_url}", flush=True)  # type: ignore[attr-defined]

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

    with contextlib.suppress(KeyboardInterrupt):
        run(
            args.host,
            args.port,
            api_key=args.api_key,
            seed=args.seed,
            ssl_context=context,
            batch_seconds=args.batch_seconds,
            pace=args.pace,
            enforce_limits=args.enforce_limits,
            lenient=args.lenient,
            on_ready=ready,
        )
    return 0


def _demo(args: argparse.Namespace) -> int:
    """The emulator on loopback and one real streamed request to it through `wire.sync.Client`:
    text printed as it arrives, then usage, stop reason and timings."""
    import time

    from ._events import ContentBlockDelta, TextDelta
    from .sync import Client

    try:
        from .testing.server import serve
    except ImportError as exc:  # trio is an extra
        return _needs_trio("demo", exc)

    prompt = " ".join(args.prompt) or "Tell me about the weather in Paris"
    messages = [{"role": "user", "content": prompt}]
    with serve(seed=args.seed, pace=args.pace) as server:
        print(f"wire demo: emulator at {server.base_url}; streaming a reply to {prompt!r}\n")
        with Client(api_key="sk-demo", base_url=server.base_url, proxy=None) as client:
            start = time.perf_counter()
            first: float | None = None
            with client.stream_message(
                model=args.model, max_tokens=args.max_tokens, messages=messages
            ) as stream:
                for event in stream:
                    if isinstance(event, ContentBlockDelta) and isinstance(event.delta, TextDelta):
                        first = first or time.perf_counter()
                        print(event.delta.text, end="", flush=True)
            total = time.perf_counter() - start
    message, head = stream.message, stream.response
    if message is None:
        raise IncompleteStreamError("the stream carried no message", None)
    usage = message.usage
    request_id = None if head is None else head.request_id
    print(
        f"\n\nstop reason: {message.stop_reason}; usage: {usage.input_tokens} input, "
        f"{usage.output_tokens} output tokens; request id: {request_id}"
    )
    ttft = f"{(first - start) * 1000:.1f} ms" if first else "n/a"
    print(f"time to first token: {ttft}; total: {total * 1000:.1f} ms (wire.sync.Client)")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wire", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"wire {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
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
    decode.set_defaults(run=_decode)
    demo = commands.add_parser(
        "demo", help="stream a reply from the emulator on loopback (offline), printed live"
    )
    demo.add_argument("prompt", nargs="*", help="the prompt (a default one otherwise)")
    demo.add_argument("--model", default="claude-opus-4-6")
    demo.add_argument("--max-tokens", type=int, default=120)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument(
        "--pace",
        type=float,
        default=300.0,
        help="emulated tokens per second (0: as fast as possible)",
    )
    demo.set_defaults(run=_demo)
    serve = commands.add_parser("serve", help="run the API emulator (for tests; loopback only)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
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
        "--lenient",
        action="store_true",
        help="accept any well-formed request (unknown fields, models and betas) instead of "
        "validating as the API does",
    )
    serve.add_argument(
        "--tls-cert", metavar="FILE", help="serve HTTPS with this PEM certificate (chain)"
    )
    serve.add_argument("--tls-key", metavar="FILE", help="the PEM private key for --tls-cert")
    serve.set_defaults(run=_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except WireError as exc:
        print(f"wire: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (`wire decode ... | head`): stop quietly, as Unix
        # tools do, and keep Python from complaining when it flushes stdout.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as exc:
        print(f"wire: error: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code
