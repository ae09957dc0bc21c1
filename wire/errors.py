"""The exception tree. Every error wire raises on purpose derives from `WireError`.

Layer: core (no I/O). Rule: errors keep their facts as attributes and build
their text from them, so callers branch on fields, never on message text, and
no secret can reach a message because none is ever a field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .types import Message

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BodyTooLargeError",
    "ClientClosedRequestError",
    "ConflictError",
    "EventDecodeError",
    "EventTooLargeError",
    "GatewayTimeoutError",
    "HTTPNotImplementedError",
    "IncompleteBodyError",
    "IncompleteStreamError",
    "InternalServerError",
    "InvalidParameterError",
    "InvalidToolInputError",
    "LineTooLongError",
    "LocalProtocolError",
    "MessageTooLargeError",
    "NotFoundError",
    "OverloadedError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "ProtocolError",
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


class IncompleteStreamError(RemoteProtocolError):
    """The stream ended before `message_stop`; `.partial_message` is what arrived."""

    def __init__(self, reason: str, partial_message: Message | None) -> None:
        self.reason = reason
        self.partial_message = partial_message
        super().__init__(reason)


# --- transport errors (raised by drivers only) -------------------------------


class APIConnectionError(WireError):
    """The transport failed: refused, reset, TLS, proxy, or closed early."""


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
    later may succeed, and `body` the parsed envelope when there was one.
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
    ) -> None:
        self.message = message
        self.status = self.default_status if status is None else status
        self.type = type
        self.request_id = request_id
        self.retryable = self.default_retryable if retryable is None else retryable
        self.body = body
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
