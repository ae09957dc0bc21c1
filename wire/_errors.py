"""The exception tree. Every error wire raises on purpose derives from `WireError`.

Layer: core (no I/O). Rule: errors keep their facts as attributes and build
their text from them, so callers branch on fields, never on message text, and
no secret can reach a message because none is ever a field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._message import Message

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BodyTooLargeError",
    "ClientClosedRequestError",
    "ConflictError",
    "DecompressionBombError",
    "EventDecodeError",
    "EventTooLargeError",
    "GatewayTimeoutError",
    "HTTPNotImplementedError",
    "IncompleteBodyError",
    "IncompleteStreamError",
    "InternalServerError",
    "InvalidParameterError",
    "InvalidToolInputError",
    "JSONLDecodeError",
    "JSONLError",
    "JSONLLineTooLongError",
    "LineTooLongError",
    "LocalProtocolError",
    "MessageTooLargeError",
    "NotFoundError",
    "OverloadedError",
    "PartialJSONError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "ProtocolError",
    "ProxyError",
    "RateLimitError",
    "RemoteProtocolError",
    "RequestHeaderFieldsTooLargeError",
    "RequestTimeoutError",
    "RequestTooLargeError",
    "SSEError",
    "ServiceUnavailableError",
    "SizeLimitError",
    "UnprocessableEntityError",
    "WireError",
    "api_error",
    "error_class_for",
]


class WireError(Exception):
    """Root of every exception wire raises on purpose."""


# --- protocol errors ---------------------------------------------------------


class ProtocolError(WireError):
    """A rule of HTTP, SSE or the Messages event grammar was broken."""


class LocalProtocolError(ProtocolError):
    """The caller misused a sans-IO object (e.g. fed a decoder after `close()`)."""


class InvalidParameterError(LocalProtocolError, ValueError):
    """A parameter given to wire is invalid; `.parameter` names it."""

    def __init__(self, parameter: str, reason: str) -> None:
        self.parameter = parameter
        self.reason = reason
        super().__init__(f"{parameter}: {reason}")


class RemoteProtocolError(ProtocolError):
    """The peer broke HTTP, SSE or the event grammar, or breached a size limit."""


class SizeLimitError(RemoteProtocolError):
    """The peer sent more than a limit allows. `.limit` names it; `.maximum` and `.size` say by
    how much (`.size` is what had arrived when the breach was seen)."""

    what = "input"

    def __init__(self, limit: str, maximum: int, size: int) -> None:
        self.limit = limit
        self.maximum = maximum
        self.size = size
        super().__init__(f"{self.what} of at least {size} bytes exceeds {limit}={maximum}")


class SSEError(SizeLimitError):
    """An SSE size limit was breached (see `SizeLimitError` for the attributes)."""

    what = "SSE input"


class LineTooLongError(SSEError):
    """One SSE line grew past `max_line_bytes`."""

    what = "SSE line"


class EventTooLargeError(SSEError):
    """One SSE event's data grew past `max_event_bytes`."""

    what = "SSE event data"


class BodyTooLargeError(SizeLimitError):
    """A buffered response body (decompressed) grew past `max_body_bytes`: a bomb, or a liar."""

    what = "response body"


class DecompressionBombError(SizeLimitError):
    """Decompressed output outgrew a limit. `.limit` is `max_decompressed_per_call` (one
    `receive_data()` call) or `max_decompression_ratio` (the body's output against
    `.compressed`, its compressed bytes so far, past `decompression_ratio_floor`; `.maximum`
    is then the output that allowed)."""

    what = "decompressed output"

    def __init__(
        self, limit: str, maximum: int, size: int, *, compressed: int | None = None
    ) -> None:
        super().__init__(limit, maximum, size)
        self.compressed = compressed
        if compressed is not None:
            self.args = (
                f"{self.what} of at least {size} bytes from {compressed} compressed bytes "
                f"exceeds {limit} (at most {maximum} bytes allowed)",
            )


class MessageTooLargeError(SizeLimitError):
    """A streamed message grew past `max_message_bytes` (the event that would pass it is not
    applied)."""

    what = "streamed message"


class IncompleteBodyError(RemoteProtocolError):
    """The connection closed mid-body; `.body` holds the (decoded) bytes that arrived."""

    def __init__(self, reason: str, body: bytes) -> None:
        self.reason = reason
        self.body = body
        super().__init__(f"{reason} (after {len(body)} body bytes)")


class EventDecodeError(RemoteProtocolError):
    """An SSE event's data is not the JSON object the Messages stream promises."""

    def __init__(self, event: str, reason: str) -> None:
        self.event = event
        self.reason = reason
        super().__init__(f"bad {event!r} event: {reason}")


class InvalidToolInputError(RemoteProtocolError):
    """A tool-use block's streamed input is not one complete JSON object."""

    def __init__(self, index: int, reason: str) -> None:
        self.index = index
        self.reason = reason
        super().__init__(f"content block {index}: tool input is not one JSON object: {reason}")


class PartialJSONError(RemoteProtocolError, ValueError):
    """Text the peer sent as one JSON object is not (the start of) one.

    Also a `ValueError`, as it was before it joined the tree.
    """


class JSONLError(RemoteProtocolError):
    """A batch results body is not valid JSONL of results; `.line` is the 1-based line number."""

    line: int


class JSONLDecodeError(JSONLError):
    """A results line is not JSON, not an object, or not a result; `.reason` says why."""

    def __init__(self, line: int, reason: str) -> None:
        self.line = line
        self.reason = reason
        super().__init__(f"batch results line {line}: {reason}")


class JSONLLineTooLongError(JSONLError, SizeLimitError):
    """A results line passed `max_line_bytes`: a `SizeLimitError` (`.limit`, `.maximum`,
    `.size`) that also names the `.line`."""

    def __init__(self, line: int, maximum: int, size: int) -> None:
        self.line = line
        self.what = f"batch results line {line}"
        super().__init__("max_line_bytes", maximum, size)


class IncompleteStreamError(RemoteProtocolError):
    """The stream ended before `message_stop`; `.partial_message` is what arrived."""

    def __init__(self, reason: str, partial_message: Message | None) -> None:
        self.reason = reason
        self.partial_message = partial_message
        super().__init__(reason)


# --- transport errors (raised by drivers only) -------------------------------


class APIConnectionError(WireError):
    """The transport failed: refused, reset, TLS, proxy, or closed early."""


class ProxyError(APIConnectionError):
    """The proxy refused or broke the tunnel; `.proxy` is `scheme://host:port`, `.status` its
    answer's status (None when it sent no valid answer). Never shows credentials."""

    def __init__(self, message: str, *, proxy: str, status: int | None = None) -> None:
        self.proxy = proxy
        self.status = status
        super().__init__(message)


class APITimeoutError(APIConnectionError):
    """A timeout elapsed; `.timeout` names which one when known."""

    def __init__(self, message: str = "request timed out", *, timeout: str | None = None) -> None:
        self.timeout = timeout
        super().__init__(message)


# --- API errors ----------------------------------------------------------------


class APIError(WireError):
    """The API answered with an error: an error status, or an `error` event mid-stream.

    `status` is the HTTP status (200 for an error event inside a stream), `type`
    the envelope's `error.type`, `message` its `error.message`, `request_id` the
    `request-id` header (or the envelope's), `retryable` whether trying again
    later may succeed, `body` the parsed envelope when there was one, and
    `headers` the response's headers as (lower-case name, value) pairs (empty
    for an error event or an error built by hand), so that `RetryPolicy` can
    read `retry-after` and `x-should-retry` from the error alone. Neither
    `str()` nor `repr()` shows the headers or the body.
    """

    default_status = 0
    default_retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        type: str | None = None,
        request_id: str | None = None,
        retryable: bool | None = None,
        body: Any = None,
        headers: Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]] = (),
    ) -> None:
        self.message = message
        self.status = self.default_status if status is None else status
        self.type = type
        self.request_id = request_id
        self.retryable = self.default_retryable if retryable is None else retryable
        self.body = body
        self.headers = _header_pairs(headers)
        super().__init__(message)

    def __str__(self) -> str:
        kind = self.type or "error"
        text = f"{kind} (HTTP {self.status}): {self.message}"
        if self.request_id:
            text += f" [request-id {self.request_id}]"
        return text


class BadRequestError(APIError):
    default_status = 400


class AuthenticationError(APIError):
    default_status = 401


class PaymentRequiredError(APIError):
    default_status = 402


class PermissionDeniedError(APIError):
    default_status = 403


class NotFoundError(APIError):
    default_status = 404


class RequestTimeoutError(APIError):
    default_status = 408
    default_retryable = True


class ConflictError(APIError):
    default_status = 409
    default_retryable = True


class PreconditionFailedError(APIError):
    default_status = 412


class RequestTooLargeError(APIError):
    default_status = 413


class UnprocessableEntityError(APIError):
    default_status = 422


class RequestHeaderFieldsTooLargeError(APIError):
    default_status = 431


class ClientClosedRequestError(APIError):
    default_status = 499


class RateLimitError(APIError):
    default_status = 429
    default_retryable = True


class InternalServerError(APIError):
    default_status = 500
    default_retryable = True


class HTTPNotImplementedError(InternalServerError):
    default_status = 501


class ServiceUnavailableError(InternalServerError):
    default_status = 503


class GatewayTimeoutError(InternalServerError):
    default_status = 504


class OverloadedError(InternalServerError):
    default_status = 529


def shown(value: object, width: int = 40) -> str:
    """`value` for an error text: its repr, cut to `width` (an int too long to print, named),
    so a hostile argument never makes a huge or failing message."""
    try:
        text = repr(value)
    except ValueError:  # an int past Python's digit limit
        return "an int too large to show"
    return text if len(text) <= width else text[: width - 3] + "..."


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, str):
        return value
    kind = type(value).__name__
    raise InvalidParameterError("headers", f"names and values must be str or bytes, not {kind}")


def _header_pairs(
    headers: Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]],
) -> tuple[tuple[str, str], ...]:
    """Headers as a tuple of (lower-case name, value) pairs; bytes are read as Latin-1."""
    if isinstance(headers, str | bytes):
        raise InvalidParameterError("headers", "must be a mapping or (name, value) pairs")
    items: Iterable[Any] = headers.items() if isinstance(headers, Mapping) else headers
    try:
        pairs = [(name, value) for name, value in items]
    except (TypeError, ValueError):  # not iterable, or an item that is not a pair
        raise InvalidParameterError("headers", "must be a mapping or (name, value) pairs") from None
    return tuple((_text(name).lower(), _text(value)) for name, value in pairs)


_BY_TYPE: dict[str, type[APIError]] = {
    "invalid_request_error": BadRequestError,
    "authentication_error": AuthenticationError,
    "billing_error": PaymentRequiredError,
    "permission_error": PermissionDeniedError,
    "not_found_error": NotFoundError,
    "conflict_error": ConflictError,
    "request_too_large": RequestTooLargeError,
    "rate_limit_error": RateLimitError,
    "api_error": InternalServerError,
    "timeout_error": GatewayTimeoutError,
    "overloaded_error": OverloadedError,
}

_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: PaymentRequiredError,
    403: PermissionDeniedError,
    404: NotFoundError,
    408: RequestTimeoutError,
    409: ConflictError,
    412: PreconditionFailedError,
    413: RequestTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    431: RequestHeaderFieldsTooLargeError,
    499: ClientClosedRequestError,
    500: InternalServerError,
    501: HTTPNotImplementedError,
    503: ServiceUnavailableError,
    504: GatewayTimeoutError,
    529: OverloadedError,
}


def error_class_for(status: int | None, error_type: str | None) -> type[APIError]:
    """The `APIError` subclass for an HTTP status and/or an envelope `error.type`.

    The status decides when it names a class; an error event (status 200 or
    `None`) or an unlisted status falls back to `error.type`, then to the
    status range.
    """
    if status is not None and status in _BY_STATUS:
        return _BY_STATUS[status]
    if error_type is not None and error_type in _BY_TYPE:
        return _BY_TYPE[error_type]
    if status is not None and status >= 500:
        return InternalServerError
    return APIError


# --- an error response from any HTTP library -----------------------------------

# A non-API body (a proxy's HTML page) is summarised from its first bytes only, to one line.
_SUMMARY_SCAN = 4096
_SUMMARY_CHARS = 120
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title|<h1[^>]*>(.*?)</h1", re.I | re.S)
_TAG = re.compile(r"<[^>]*>")


def api_error(
    status: int,
    headers: Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]] = (),
    body: bytes | bytearray | memoryview | str = b"",
    *,
    reason: str = "",
) -> APIError:
    """The typed `APIError` for an error response that another HTTP library read.

    For code that sends requests with httpx, aiohttp, urllib or a socket of
    its own: pass the status, the headers (a mapping or (name, value) pairs)
    and the whole body. The subclass is the one the status and the envelope's
    `error.type` name (as `ClientConnection` picks it); `request_id`,
    `retryable` (the `RetryPolicy` rules, `x-should-retry` included), `headers`
    and `body` (the parsed envelope) are filled in, so `RetryPolicy().delay(n,
    error=e)` decides from the result alone. A body that is not the API's
    envelope (a proxy's HTML 502 page) becomes a one-line summary, never the
    page. Returns the error; raising it is the caller's choice. A status that
    is not an int from 100 to 999, or a body that is not bytes or str, raises
    `InvalidParameterError`.
    """
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 999:
        raise InvalidParameterError("status", f"must be an int from 100 to 999, not {status!r}")
    if isinstance(body, str):
        raw = body.encode("utf-8")
    elif isinstance(body, bytes | bytearray | memoryview):
        raw = bytes(body)
    else:
        kind = type(body).__name__
        raise InvalidParameterError("body", f"must be the body's bytes (or str), not {kind}")
    if not isinstance(reason, str):
        raise InvalidParameterError("reason", f"must be a str, not {type(reason).__name__}")
    pairs = _header_pairs(headers)
    envelope: Any = None
    if raw.strip():
        try:
            envelope = json.loads(raw)
        except (ValueError, RecursionError):
            envelope = None
    found = dict(reversed(pairs))  # the first occurrence of a name wins
    request_id = found.get("request-id") or found.get("x-request-id")
    return build_api_error(status, reason, pairs, envelope, raw, request_id)


def build_api_error(
    status: int,
    reason: str,
    headers: tuple[tuple[str, str], ...],
    envelope: Any,
    raw: bytes,
    request_id: str | None,
) -> APIError:
    """`api_error` after parsing (shared with `ClientConnection`, which has parsed already).

    `envelope` is the parsed body (None when it was not JSON), `raw` its bytes.
    """
    from ._retry import is_retryable  # _retry sits above this module in the layers

    error = envelope.get("error") if isinstance(envelope, dict) else None
    error_type = message = None
    if isinstance(error, dict):
        error_type = error.get("type") if isinstance(error.get("type"), str) else None
        message = error.get("message") if isinstance(error.get("message"), str) else None
    if message is None:
        media = next((value for name, value in headers if name == "content-type"), "")
        message = summarise_body(status, reason, media, raw)
    if request_id is None and isinstance(envelope, dict):
        rid = envelope.get("request_id")
        request_id = rid if isinstance(rid, str) else None
    cls = error_class_for(status, error_type)
    return cls(
        message,
        status=status,
        type=error_type,
        request_id=request_id,
        retryable=is_retryable(status, headers, envelope),
        body=envelope,
        headers=headers,
    )


def summarise_body(status: int, reason: str, content_type: str, raw: bytes) -> str:
    """One short line for an error body that is not the API's envelope.

    An HTML page gives its `<title>` (else its first `<h1>`), any other body
    its first non-blank line of text outside tags, cut to 120 characters; the media type and the
    size follow, so the error text stays one line whatever the page holds.
    Reads only the first 4 KiB.
    """
    media = content_type.split(";", 1)[0].strip().lower()
    head = raw[:_SUMMARY_SCAN]
    match = _TITLE.search(head)
    if match is not None:
        text = (match.group(1) or match.group(2) or b"").decode("utf-8", "replace")
    else:
        text = head.decode("utf-8", "replace")
    text = _TAG.sub(" ", text)
    text = next((line for line in text.splitlines() if line.strip()), "")
    text = " ".join(text.split())
    if len(text) > _SUMMARY_CHARS:
        text = text[: _SUMMARY_CHARS - 3] + "..."
    if not raw.strip():
        return f"HTTP {status} {reason}".strip() + " with an empty body"
    what = f"a {media} body" if media else "a body"
    size = f"{what} of {len(raw)} bytes, not an API error envelope"
    return f"{text} ({size})" if text else f"HTTP {status} {reason}".strip() + f" ({size})"
