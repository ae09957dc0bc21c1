"""Shared by the commands: the exit-with-a-message error, strict JSON output, the client."""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from wire._call import Call
    from wire._connection import ResponseHead
    from wire.sync import Client

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


def _client(args: argparse.Namespace) -> Client:
    from wire.sync import Client

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
