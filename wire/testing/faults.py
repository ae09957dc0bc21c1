"""Fault injection for the emulator: the `x-wire-fault` header and what each fault does.

Sans-IO: a fault turns a planned response into a different list of actions
(bytes to send, pauses, a close); the server runtime carries them out.

The header is a `;`-separated list of `name=value` (see docs/emulator.md):

| fault | effect |
|---|---|
| `status=N` | answer N with the API's error envelope (type from N) instead |
| `retry-after=S` | with `status`: a `retry-after: S` header |
| `error-event=TYPE` | a stream sends an `error` event of TYPE after some content, then ends |
| `drop-after=N` | close the connection after N bytes of body |
| `stall=T` | pause T seconds mid-body |
| `chunk=N` / `chunk=random` | write the body in pieces of N bytes / of random sizes |
| `gzip=1` | `content-encoding: gzip` |
| `malformed=utf8|no-newline|long-line` | invalid UTF-8; no final line end; a 17 MiB line |
| `times=N` | only the first N requests carrying this exact header value get the faults |
| `reply=long` | a message's text runs until `max_tokens` (`stop_reason: "max_tokens"`) |
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

__all__ = ["ERROR_TYPES", "FaultError", "Faults", "parse_faults"]

# The envelope's error.type for each status the emulator can be asked for.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}

LONG_LINE_BYTES = 17 * 1024 * 1024  # past wire's 16 MiB default line limit
_MALFORMED = ("utf8", "no-newline", "long-line")
_REPLIES = ("long",)


class FaultError(ValueError):
    """The fault header is not understood; the emulator answers 400 naming the problem."""


@dataclass(frozen=True)
class Faults:
    """The faults asked for by one request (all off by default)."""

    status: int | None = None
    retry_after: str | None = None
    error_event: str | None = None
    drop_after: int | None = None
    stall: float | None = None
    chunk: int | str | None = None  # a size, or "random"
    gzip: bool = False
    malformed: str | None = None
    times: int | None = None
    reply: str | None = None  # "long": text until max_tokens
    raw: str = field(default="", compare=False)

    @property
    def any(self) -> bool:
        return self != Faults()

    def pieces(self, parts: Iterable[bytes], rng: random.Random) -> Iterator[bytes]:
        """The bytes of `parts`, as one run, cut as `chunk` asks (as they come, without it).

        Lazy: it holds one part and less than one piece, so a long body costs no memory.
        """
        if self.chunk is None:
            yield from (part for part in parts if part)
            return
        rest = b""
        size = 0
        for part in parts:
            data = rest + part if rest else part
            at = 0
            while at < len(data):
                if not size:
                    size = rng.randint(1, 64) if self.chunk == "random" else int(self.chunk)
                if len(data) - at < size:
                    break
                yield data[at : at + size]
                at += size
                size = 0
            rest = data[at:]
        if rest:
            yield rest


def _number(name: str, value: str, kind: type[int] | type[float]) -> int | float:
    """A finite, non-negative number (`nan`, `inf` and negatives are refused)."""
    try:
        number = kind(value)
    except (ValueError, OverflowError):
        raise FaultError(f"fault {name}={value!r}: not a number") from None
    if not math.isfinite(number) or number < 0:
        raise FaultError(f"fault {name}={value!r}: must be a finite, non-negative number")
    return number


def _status(value: str) -> int:
    # Only error statuses: they have a body to carry the envelope, and none of them
    # changes the protocol (1xx, 101, 2xx to CONNECT) or forbids a body (204, 304).
    status = int(_number("status", value, int))
    if not 400 <= status <= 599:
        raise FaultError(f"fault status={value}: must be an error status, 400 to 599")
    return status


def _chunk(value: str) -> int | str:
    if value == "random":
        return "random"
    size = int(_number("chunk", value, int))
    if size < 1:
        raise FaultError("fault chunk: the size must be at least 1")
    return size


def _malformed(value: str) -> str:
    if value not in _MALFORMED:
        raise FaultError(f"fault malformed={value!r}: one of {', '.join(_MALFORMED)}")
    return value


def _reply(value: str) -> str:
    if value not in _REPLIES:
        raise FaultError(f"fault reply={value!r}: one of {', '.join(_REPLIES)}")
    return value


# Each fault name: the Faults field it sets, and how its value is read.
_PARSERS: dict[str, tuple[str, Callable[[str], object]]] = {
    "status": ("status", _status),
    "retry-after": ("retry_after", lambda value: value),
    "error-event": ("error_event", lambda value: value or "overloaded_error"),
    "drop-after": ("drop_after", lambda value: int(_number("drop-after", value, int))),
    "stall": ("stall", lambda value: float(_number("stall", value, float))),
    "chunk": ("chunk", _chunk),
    "gzip": ("gzip", lambda value: value not in ("0", "false", "")),
    "malformed": ("malformed", _malformed),
    "times": ("times", lambda value: int(_number("times", value, int))),
    "reply": ("reply", _reply),
}


def parse_faults(header: str | None) -> Faults:
    """The `Faults` an `x-wire-fault` header value asks for; `FaultError` if it is not valid."""
    if not header or not header.strip():
        return Faults()
    fields: dict[str, object] = {"raw": header}
    for item in header.split(";"):
        item = item.strip()
        if not item:
            continue
        name, sep, value = item.partition("=")
        name, value = name.strip().lower(), value.strip()
        if not sep:
            raise FaultError(f"fault {name!r} needs a value (name=value)")
        if name not in _PARSERS:
            raise FaultError(f"unknown fault {name!r}")
        key, parse = _PARSERS[name]
        fields[key] = parse(value)
    return Faults(**fields)  # type: ignore[arg-type]
