"""The `wire` command line (also `python -m wire`).

Layer: application, on top of everything. Rule: errors print one line on
stderr (never a traceback, never a key) and exit non-zero.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from importlib import resources
from typing import IO

from ._version import __version__
from .errors import IncompleteStreamError, WireError
from .stream import MessageStreamDecoder

__all__ = ["main"]

_READ_SIZE = 64 * 1024


def _dump(value: object, *, indent: int | None = None) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent)


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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wire", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"wire {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    decode = commands.add_parser(
        "decode", help="decode a captured Messages SSE stream into typed events (JSON lines)")
    decode.add_argument("file", nargs="?", help="the capture; '-' or nothing for stdin")
    decode.add_argument("--sample", metavar="NAME",
                        help="decode a capture bundled with wire (e.g. tool_use)")
    decode.add_argument("--message", action="store_true",
                        help="print the accumulated message instead of the events")
    decode.set_defaults(run=_decode)
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
