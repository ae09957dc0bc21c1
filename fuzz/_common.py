"""What the harnesses share: the input layout, chunkings, strict equality, the atheris entry.

Input layout (all harnesses)::

    byte 0          header: low 4 bits = N, the number of chunk-size bytes;
                    high 4 bits = flags (each harness says what they select)
    bytes 1..N      chunk sizes, each `byte % 64` (0 means an empty chunk)
    the rest        the payload (an SSE stream, a JSON text, ...)

The sizes are used in a cycle until the payload is used up, so a few bytes
chunk a long payload. A header in 0x20-0x7E and sizes written as chr(64 + size)
keep a seed file printable; `make_input()` builds one.
"""

from __future__ import annotations

import importlib
import math
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AnyStr

REPO = Path(__file__).resolve().parent.parent
SEEDS = Path(__file__).resolve().parent / "seeds"


@dataclass(frozen=True)
class FuzzInput:
    flags: int
    sizes: tuple[int, ...]
    payload: bytes


def split_input(data: bytes) -> FuzzInput:
    """Cut the fuzzer's bytes into flags, chunk sizes and payload (see the module docstring)."""
    if not data:
        return FuzzInput(0, (), b"")
    header = data[0]
    count = header & 0x0F
    sizes = tuple(b % 64 for b in data[1 : 1 + count])
    return FuzzInput(header >> 4, sizes, data[1 + count :])


def make_input(payload: bytes, sizes: Sequence[int] = (), flags: int = 2) -> bytes:
    """The inverse of `split_input`; printable when `flags` is 2-7 and the payload is."""
    if not 0 <= flags <= 15 or len(sizes) > 15 or not all(0 <= s < 63 for s in sizes):
        raise ValueError("flags 0-15, at most 15 sizes, each 0-62")
    return bytes([flags << 4 | len(sizes)]) + bytes(64 + s for s in sizes) + payload


def chunks(payload: AnyStr, sizes: Sequence[int]) -> list[AnyStr]:
    """`payload` cut by `sizes` used in a cycle; empty chunks are kept (feeding "" is legal)."""
    if not sizes or not payload:
        return [payload]
    out: list[AnyStr] = []
    i = 0
    k = 0
    zeros = 0
    while i < len(payload):
        size = sizes[k % len(sizes)]
        k += 1
        out.append(payload[i : i + size])
        i += size
        zeros = zeros + 1 if size == 0 else 0
        if zeros > len(sizes):  # all sizes are 0: feed the rest at once
            out.append(payload[i:])
            break
    return out


def split_points(length: int, limit: int) -> Iterator[int]:
    """Every cut position 0..length when there are at most `limit`+1, else an even sample."""
    if length <= limit:
        yield from range(length + 1)
        return
    step = length / limit
    seen: set[int] = set()
    for j in range(limit + 1):
        pos = min(length, round(j * step))
        if pos not in seen:
            seen.add(pos)
            yield pos


def same(a: Any, b: Any, *, ordered: bool = True) -> bool:
    """Deep equality that also compares types (1 != 1.0 != True) and, if `ordered`, key order.

    Iterative: values nest up to the parser's max_depth (512) levels and beyond.
    """
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        kind = type(x)
        if kind is not type(y):
            return False
        if kind is dict:
            if (list(x) != list(y)) if ordered else (x.keys() != y.keys()):
                return False
            stack.extend((v, y[k]) for k, v in x.items())
        elif kind is list or kind is tuple:
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=True))
        elif kind is float and math.isnan(x):
            if not math.isnan(y):
                return False
        elif x != y:
            return False
    return True


def short(value: Any, limit: int = 400) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 20] + f"... ({len(text)} chars)"


def ensure_repo_on_path() -> None:
    """Let `python fuzz/fuzz_x.py` import `wire`, `fuzz` and `tests` from this checkout."""
    root = str(REPO)
    if root not in sys.path:
        sys.path.insert(0, root)


def fuzz_main(module: str, argv: list[str] | None = None) -> None:
    """Run `module.check` under atheris with `wire` (and the SSE reference) instrumented.

    The harness module and `wire` were imported before atheris could hook the
    imports, so both are dropped and imported again inside `instrument_imports()`.
    """
    import atheris  # type: ignore[import-untyped,unused-ignore]

    for name in list(sys.modules):
        if name in ("wire", module, "tests.reference_sse") or name.startswith("wire."):
            del sys.modules[name]
    with atheris.instrument_imports(include=["wire", "tests.reference_sse"]):
        harness = importlib.import_module(module)
    atheris.Setup(sys.argv if argv is None else argv, harness.check)
    atheris.Fuzz()
