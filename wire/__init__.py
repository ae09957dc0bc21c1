"""wire: a sans-IO HTTP/1.1 + Server-Sent Events toolkit for the Claude Messages API.

Everything public in the core is importable from here, and only from here (as
h11 does it): the modules behind it are private. `import wire` loads the core
only (the standard library and h11; no socket, no clock, no event loop). Public
submodules: `wire.builders` (one request builder per endpoint), the drivers
(`wire.sync`, `wire.trio`, `wire.asyncio`: import the one you use by name), the
testing kit (`wire.testing`) and the command line (`wire.cli`). docs/api.md
lists this surface; a test holds the two together.
"""

import importlib
from typing import TYPE_CHECKING, Any

from ._accumulate import MessageAccumulator
from ._errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BodyTooLargeError,
    ClientClosedRequestError,
    ConflictError,
    DecompressionBombError,
    EventDecodeError,
    EventTooLargeError,
    GatewayTimeoutError,
    HTTPNotImplementedError,
    IncompleteBodyError,
    IncompleteStreamError,
    InternalServerError,
    InvalidParameterError,
    InvalidToolInputError,
    JSONLDecodeError,
    JSONLError,
    JSONLLineTooLongError,
    LineTooLongError,
    LocalProtocolError,
    MessageTooLargeError,
    NotFoundError,
    OverloadedError,
    PartialJSONError,
    PaymentRequiredError,
    PermissionDeniedError,
    PreconditionFailedError,
    ProtocolError,
    ProxyError,
    RateLimitError,
    RemoteProtocolError,
    RequestHeaderFieldsTooLargeError,
    RequestTimeoutError,
    RequestTooLargeError,
    ServiceUnavailableError,
    SizeLimitError,
    SSEError,
    UnprocessableEntityError,
    WireError,
    api_error,
)
from ._events import (
    CitationsDelta,
    ContentBlockDelta,
    ContentBlockStart,
    ContentBlockStop,
    Delta,
    InputJSONDelta,
    MessageDelta,
    MessageStart,
    MessageStop,
    Ping,
    SignatureDelta,
    StreamError,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    UnknownDelta,
    UnknownEvent,
    parse_stream_event,
    stream_event_from_dict,
)
from ._message import (
    ContentBlock,
    MCPToolUseBlock,
    Message,
    RedactedThinkingBlock,
    ServerToolUseBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    UnknownBlock,
    Usage,
)
from ._partial_json import PartialJSONParser
from ._sse import ServerSentEvent, SSEDecoder, encode_sse
from ._stream import MessageStreamDecoder
from ._version import __version__

if TYPE_CHECKING:  # the names below load on first use (PEP 562): see `__getattr__`
    from ._batches import (
        BatchResult,
        CanceledResult,
        DeletedMessageBatch,
        ErroredResult,
        ExpiredResult,
        JSONLDecoder,
        MessageBatch,
        Model,
        Page,
        RequestCounts,
        SucceededResult,
        UnknownResult,
    )
    from ._connection import (
        BodyData,
        ClientConnection,
        ConnectionState,
        ErrorResponse,
        JSONBody,
        ResponseComplete,
        ResponseEvent,
        ResponseHead,
        StreamIncomplete,
    )
    from ._ratelimit import (
        Limit,
        Limiter,
        RateLimits,
        Reservation,
        estimate_input_tokens,
        model_class,
    )
    from ._retry import RetryPolicy
    from ._timeouts import Timeout
    from .builders import APIConfig, Request

# The HTTP and API half of the root loads on first use, so that a process that
# only decodes a stream (a CLI in a pipeline, a serverless function) imports the
# streaming stack alone (BENCH.md "Cold start").
_LAZY = {
    "BatchResult": "_batches",
    "CanceledResult": "_batches",
    "DeletedMessageBatch": "_batches",
    "ErroredResult": "_batches",
    "ExpiredResult": "_batches",
    "JSONLDecoder": "_batches",
    "MessageBatch": "_batches",
    "Model": "_batches",
    "Page": "_batches",
    "RequestCounts": "_batches",
    "SucceededResult": "_batches",
    "UnknownResult": "_batches",
    "BodyData": "_connection",
    "ClientConnection": "_connection",
    "ConnectionState": "_connection",
    "ErrorResponse": "_connection",
    "JSONBody": "_connection",
    "ResponseComplete": "_connection",
    "ResponseEvent": "_connection",
    "ResponseHead": "_connection",
    "StreamIncomplete": "_connection",
    "Limit": "_ratelimit",
    "Limiter": "_ratelimit",
    "RateLimits": "_ratelimit",
    "Reservation": "_ratelimit",
    "model_class": "_ratelimit",
    "estimate_input_tokens": "_ratelimit",
    "RetryPolicy": "_retry",
    "Timeout": "_timeouts",
    "APIConfig": "builders",
    "Request": "builders",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        if name.startswith("_") and not name.startswith("__"):  # a private module, by name
            return importlib.import_module(f"{__name__}.{name}")
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "APIConfig",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BatchResult",
    "BodyData",
    "BodyTooLargeError",
    "CanceledResult",
    "CitationsDelta",
    "ClientClosedRequestError",
    "ClientConnection",
    "ConflictError",
    "ConnectionState",
    "ContentBlock",
    "ContentBlockDelta",
    "ContentBlockStart",
    "ContentBlockStop",
    "DecompressionBombError",
    "DeletedMessageBatch",
    "Delta",
    "ErrorResponse",
    "ErroredResult",
    "EventDecodeError",
    "EventTooLargeError",
    "ExpiredResult",
    "GatewayTimeoutError",
    "HTTPNotImplementedError",
    "IncompleteBodyError",
    "IncompleteStreamError",
    "InputJSONDelta",
    "InternalServerError",
    "InvalidParameterError",
    "InvalidToolInputError",
    "JSONBody",
    "JSONLDecodeError",
    "JSONLDecoder",
    "JSONLError",
    "JSONLLineTooLongError",
    "Limit",
    "Limiter",
    "LineTooLongError",
    "LocalProtocolError",
    "MCPToolUseBlock",
    "Message",
    "MessageAccumulator",
    "MessageBatch",
    "MessageDelta",
    "MessageStart",
    "MessageStop",
    "MessageStreamDecoder",
    "MessageTooLargeError",
    "Model",
    "NotFoundError",
    "OverloadedError",
    "Page",
    "PartialJSONError",
    "PartialJSONParser",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "Ping",
    "PreconditionFailedError",
    "ProtocolError",
    "ProxyError",
    "RateLimitError",
    "RateLimits",
    "RedactedThinkingBlock",
    "RemoteProtocolError",
    "Request",
    "RequestCounts",
    "RequestHeaderFieldsTooLargeError",
    "RequestTimeoutError",
    "RequestTooLargeError",
    "Reservation",
    "ResponseComplete",
    "ResponseEvent",
    "ResponseHead",
    "RetryPolicy",
    "SSEDecoder",
    "SSEError",
    "ServerSentEvent",
    "ServerToolUseBlock",
    "ServiceUnavailableError",
    "SignatureDelta",
    "SizeLimitError",
    "StreamError",
    "StreamEvent",
    "StreamIncomplete",
    "SucceededResult",
    "TextBlock",
    "TextDelta",
    "ThinkingBlock",
    "ThinkingDelta",
    "Timeout",
    "ToolUseBlock",
    "UnknownBlock",
    "UnknownDelta",
    "UnknownEvent",
    "UnknownResult",
    "UnprocessableEntityError",
    "Usage",
    "WireError",
    "__version__",
    "api_error",
    "encode_sse",
    "estimate_input_tokens",
    "model_class",
    "parse_stream_event",
    "stream_event_from_dict",
]
