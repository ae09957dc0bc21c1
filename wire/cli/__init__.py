"""The `wire` command line (also `python -m wire`).

Layer: application, on top of everything. Rules: an error prints one line on
stderr (with the request id when there is one; never a traceback, never the
key) and exits non-zero; Ctrl-C ends any command quietly with status 130.
Commands that call the API go through `wire.sync.Client`, the real API by
default (`--base-url` or `ANTHROPIC_BASE_URL` for another, e.g. the emulator).

The commands live beside this module: `_api` (send, stream, count-tokens,
models, limits), `_batch`, `_offline` (decode, serve, record, demo); `_args`
builds the parser, `_common` holds what they share.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Sequence

from wire._errors import APIError, WireError

from ._args import _parser
from ._common import _Fail, _leaves

__all__ = ["main"]


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
