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
"""

from __future__ import annotations

import random
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
    raw: str = field(default="", compare=False)

    @property
    def any(self) -> bool:
        return self != Faults()

    def pieces(self, body: bytes, rng: random.Random) -> list[bytes]:
        """`body` cut as `chunk` asks (one piece without it)."""
        if not body:
            return []
        if self.chunk is None:
            return [body]
        if self.chunk == "random":
            out, i = [], 0
            while i < len(body):
                n = rng.randint(1, 64)
                out.append(body[i : i + n])
                i += n
            return out
        assert isinstance(self.chunk, int)
        return [body[i : i + self.chunk] for i in range(0, len(body), self.chunk)]


def _number(name: str, value: str, kind: type[int] | type[float]) -> int | float:
    try:
        number = kind(value)
    except ValueError:
        raise FaultError(f"fault {name}={value!r}: not a number") from None
    if number < 0:
        raise FaultError(f"fault {name}={value!r}: must not be negative")
    return number


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
        if name == "status":
            status = int(_number(name, value, int))
            if not 100 <= status <= 599:
                raise FaultError(f"fault status={value}: not an HTTP status")
            fields["status"] = status
        elif name == "retry-after":
            fields["retry_after"] = value
        elif name == "error-event":
            fields["error_event"] = value or "overloaded_error"
        elif name == "drop-after":
            fields["drop_after"] = int(_number(name, value, int))
        elif name == "stall":
            fields["stall"] = float(_number(name, value, float))
        elif name == "chunk":
            if value == "random":
                fields["chunk"] = "random"
            else:
                size = int(_number(name, value, int))
                if size < 1:
                    raise FaultError("fault chunk: the size must be at least 1")
                fields["chunk"] = size
        elif name == "gzip":
            fields["gzip"] = value not in ("0", "false", "")
        elif name == "malformed":
            if value not in _MALFORMED:
                raise FaultError(f"fault malformed={value!r}: one of {', '.join(_MALFORMED)}")
            fields["malformed"] = value
        elif name == "times":
            fields["times"] = int(_number(name, value, int))
        else:
            raise FaultError(f"unknown fault {name!r}")
    return Faults(**fields)  # type: ignore[arg-type]
