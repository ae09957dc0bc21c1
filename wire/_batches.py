"""Models, message batches, pages of either, and the batch results (JSONL) decoder.

Layer: core, beside `builders`/`_connection` (stdlib only; builds on `_message`). Rules:
every object keeps `types.py`'s rule, `X.from_dict(d).to_dict() == d` (timestamps
stay the RFC 3339 strings sent); `JSONLDecoder` gives the same results for any
chunking of the same bytes, in time linear in them and memory bounded by
`max_line_bytes`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Generic, TypeAlias, TypeVar

from ._deferred import ErrorGate
from ._errors import (
    EventDecodeError,
    InvalidParameterError,
    JSONLDecodeError,
    JSONLError,
    JSONLLineTooLongError,
    WireError,
)
from ._message import Message
from ._model import (
    APIObject,
    Unknown,
    boolean,
    decode,
    integer,
    json_object,
    list_of,
    nested,
    one_of,
    optional_string,
    required,
    string,
    typed,
)

__all__ = [
    "DEFAULT_MAX_RESULT_LINE_BYTES",
    "BatchRequestResult",
    "BatchResult",
    "CanceledResult",
    "DeletedMessageBatch",
    "ErroredResult",
    "ExpiredResult",
    "JSONLDecodeError",
    "JSONLDecoder",
    "JSONLError",
    "JSONLLineTooLongError",
    "MessageBatch",
    "Model",
    "Page",
    "RequestCounts",
    "SucceededResult",
    "UnknownResult",
    "result_from_dict",
]


# --- models ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Model(APIObject):
    """A model (`GET /v1/models/{id}`). `lifecycle`, `max_tokens`… live in `extra`."""

    what: ClassVar[str] = "model"
    type: str = string("model")
    id: str = string()
    display_name: str = string()
    created_at: str = string()
    """RFC 3339, as sent (e.g. "2026-02-04T00:00:00Z")."""

    @property
    def lifecycle(self) -> str | None:
        """`active`, `deprecated` or `retired` (or a newer value); None when absent."""
        return typed(self.extra, "lifecycle", str)


# --- message batches --------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestCounts(APIObject):
    """A batch's requests by state; each request counts once."""

    what: ClassVar[str] = "request_counts"
    processing: int = integer()
    succeeded: int = integer()
    errored: int = integer()
    canceled: int = integer()
    expired: int = integer()

    @property
    def total(self) -> int:
        """All requests of the batch (the five counts summed)."""
        return self.processing + self.succeeded + self.errored + self.canceled + self.expired


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageBatch(APIObject):
    """A message batch (create, get, list, cancel).

    `processing_status` goes `in_progress` (-> `canceling`) -> `ended`. The
    timestamps are RFC 3339 strings as sent; `ended_at`, `cancel_initiated_at`,
    `archived_at` and `results_url` are None until they apply. `results_url` is
    absolute: fetch it verbatim.
    """

    what: ClassVar[str] = "message_batch"
    id: str = string()
    type: str = string("message_batch")
    processing_status: str = string()
    request_counts: RequestCounts = nested(RequestCounts)
    created_at: str = string()
    expires_at: str = string()
    ended_at: str | None = optional_string()
    cancel_initiated_at: str | None = optional_string()
    archived_at: str | None = optional_string()
    results_url: str | None = optional_string()


@dataclass(frozen=True, slots=True, kw_only=True)
class DeletedMessageBatch(APIObject):
    """The answer to `DELETE /v1/messages/batches/{id}`."""

    what: ClassVar[str] = "message_batch_deleted"
    id: str = string()
    type: str = string("message_batch_deleted")


# --- pages -----------------------------------------------------------------------------


_T = TypeVar("_T", bound=APIObject)


@dataclass(frozen=True, slots=True, kw_only=True)
class Page(APIObject, Generic[_T]):
    """One page of a list endpoint: `Page.from_dict(body, Model.from_dict)` -> `Page[Model]`.

    `next_after_id` / `next_before_id` apply the SDK's paging rule (PROTOCOL.md
    §2.3), so a lister loops while one is not None.
    """

    what: ClassVar[str] = "page"
    data: tuple[_T, ...] = list_of(None)
    has_more: bool = boolean()
    first_id: str | None = optional_string()
    last_id: str | None = optional_string()

    @property
    def next_after_id(self) -> str | None:
        """`after_id` for the next page, or None when this one is the last."""
        return self.last_id if self._more() else None

    @property
    def next_before_id(self) -> str | None:
        """`before_id` for the next page when paging backwards, or None."""
        return self.first_id if self._more() else None

    def _more(self) -> bool:
        # The SDK stops at empty `data` or `has_more: false`; without `has_more` it goes on.
        return bool(self.data) and (self.has_more or "has_more" in self.omitted)

    @classmethod
    def from_dict(  # type: ignore[override]  # the item parser is part of the call
        cls, d: Any, item: Callable[[Any], _T]
    ) -> Page[_T]:
        """Parse a page body; `item` parses each element of `data` (e.g. `Model.from_dict`)."""
        page: Page[_T] = decode(cls, d)
        return replace(page, data=tuple([item(x) for x in page.data]))


# --- batch results ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SucceededResult(APIObject):
    """The request succeeded: `message` is the Message a direct call would have returned."""

    type: ClassVar[str] = "succeeded"
    what: ClassVar[str] = "succeeded result"
    message: Message = nested(Message)


@dataclass(frozen=True, slots=True, kw_only=True)
class ErroredResult(APIObject):
    """The request failed: `error` is the API's error envelope, as a direct call gets it.

    The envelope is `{"type": "error", "error": {"type", "message"}, "request_id"}`;
    the properties also read a bare `{"type", "message"}` error object.
    """

    type: ClassVar[str] = "errored"
    what: ClassVar[str] = "errored result"
    error: Mapping[str, Any] = json_object()

    def _inner(self) -> Mapping[str, Any]:
        inner = self.error.get("error")
        return inner if type(inner) is dict else self.error

    @property
    def error_type(self) -> str | None:
        """The error's type (e.g. `invalid_request_error`), or None when not a string."""
        return typed(self._inner(), "type", str)

    @property
    def error_message(self) -> str:
        return typed(self._inner(), "message", str, "")

    @property
    def request_id(self) -> str | None:
        return typed(self.error, "request_id", str)


@dataclass(frozen=True, slots=True, kw_only=True)
class CanceledResult(APIObject):
    """The batch was canceled before this request was processed."""

    type: ClassVar[str] = "canceled"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpiredResult(APIObject):
    """The batch reached its 24-hour limit before this request was processed."""

    type: ClassVar[str] = "expired"


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownResult(Unknown):
    """A result of a type wire does not know yet, kept whole."""

    what: ClassVar[str] = "result"


BatchRequestResult: TypeAlias = (
    SucceededResult | ErroredResult | CanceledResult | ExpiredResult | UnknownResult
)

_RESULTS: dict[str, type[BatchRequestResult]] = {
    cls.type: cls for cls in (SucceededResult, ErroredResult, CanceledResult, ExpiredResult)
}


def result_from_dict(d: Any) -> BatchRequestResult:
    """The typed `result` of a results line; unknown types become `UnknownResult`."""
    if type(d) is not dict:
        raise EventDecodeError("result", f"expected an object, not {type(d).__name__}")
    result_type = d.get("type")
    if type(result_type) is not str:
        raise EventDecodeError("result", "'type' must be a string")
    return _RESULTS.get(result_type, UnknownResult).from_dict(d)


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchResult(APIObject):
    """One line of a batch's results: the request's `custom_id` and its `result`.

    Both keys are required: a line without them is refused, not defaulted.
    """

    what: ClassVar[str] = "batch result"
    custom_id: str = required()
    result: BatchRequestResult = one_of(result_from_dict)


# --- the results decoder ----------------------------------------------------------------

# 64 MiB. A line is one full Message: even a 128k-token answer is about 1 MiB of
# JSON, and server-tool result blocks (fetched pages and documents, code output)
# add a few MiB; the API refuses requests over 32 MB. Twice that never refuses a
# real line, while a hostile peer can make a decoder hold at most 64 MiB of a line
# in progress (SSE lines, a few hundred bytes each, get 16 MiB).
DEFAULT_MAX_RESULT_LINE_BYTES = 64 * 1024 * 1024

_loads = json.loads


class JSONLDecoder:
    """Incremental decoder of a batch results body: `feed(bytes) -> list[BatchResult]`.

    A line ends at LF (CR is JSON whitespace, so CRLF works wherever it is cut).
    Blank lines are skipped but counted, a leading UTF-8 BOM is dropped, invalid
    UTF-8 decodes to U+FFFD, and `close()` returns a last line without LF.

    Errors are `JSONLError`s (`RemoteProtocolError`) naming the line:
    `JSONLLineTooLongError` (also a `SizeLimitError`) once a line's bytes
    before its LF (CR included) pass `max_line_bytes`, before they are
    buffered; `JSONLDecodeError` for a line that is not a JSON object with a
    string `custom_id` and a typed `result`.
    No result before a bad line is lost: a call that decoded some returns them
    and the next call raises. After an error or `close()`, `feed()` raises
    `LocalProtocolError`.
    """

    def __init__(self, *, max_line_bytes: int = DEFAULT_MAX_RESULT_LINE_BYTES) -> None:
        if type(max_line_bytes) is not int or max_line_bytes < 1:
            raise InvalidParameterError("max_line_bytes", "must be an integer of at least 1")
        self.max_line_bytes = max_line_bytes
        self._line = bytearray()  # the line in progress (no LF)
        self._lineno = 0  # complete lines read
        self._gate = ErrorGate()  # an error held for the next call; refusal once closed or failed

    @property
    def lines_read(self) -> int:
        """Complete lines read so far, blank ones included."""
        return self._lineno

    @property
    def pending_error(self) -> WireError | None:
        """The error the next `feed()` or `close()` will raise (found after results returned)."""
        return self._gate.pending

    def feed(self, data: bytes | bytearray | memoryview) -> list[BatchResult]:
        """Take the next bytes of the body; return the results of the lines they complete."""
        if self._gate.refusal is not None:
            self._gate.check()
        if type(data) is not bytes:
            data = bytes(data)
        line = self._line
        limit = self.max_line_bytes
        results: list[BatchResult] = []
        start = 0
        end = data.find(b"\n")
        try:
            if end >= 0:
                view = memoryview(data)
                while end >= 0:  # each new byte is searched once
                    self._lineno += 1
                    size = len(line) + end - start
                    if size > limit:
                        raise JSONLLineTooLongError(self._lineno, limit, size)
                    if line:
                        line += view[start:end]
                        text = str(line, "utf-8", "replace")
                        line.clear()
                    else:
                        text = str(view[start:end], "utf-8", "replace")
                    result = self._parse(text)
                    if result is not None:
                        results.append(result)
                    start = end + 1
                    end = data.find(b"\n", start)
            size = len(line) + len(data) - start
            if size > limit:  # refused before it is buffered
                raise JSONLLineTooLongError(self._lineno + 1, limit, size)
            line += data[start:] if start else data
        except JSONLError as exc:
            line.clear()
            self._gate.fail(exc, bool(results), "JSONLDecoder.feed() called after an error")
        return results

    def close(self) -> list[BatchResult]:
        """End of body: the result of a last line without LF, if any. Idempotent."""
        if not self._gate.close("JSONLDecoder.feed() called after close()"):
            return []
        if not self._line:
            return []
        self._lineno += 1
        text = str(self._line, "utf-8", "replace")
        self._line.clear()
        result = self._parse(text)
        return [] if result is None else [result]

    def _parse(self, text: str) -> BatchResult | None:
        """One complete line: a result, None for a blank line, or `JSONLDecodeError`."""
        n = self._lineno
        if n == 1 and text.startswith("\ufeff"):
            text = text[1:]
        if text[:1] != "{" and not text.strip(" \t\r"):
            return None
        try:
            d = _loads(text)
        except ValueError as exc:
            raise JSONLDecodeError(n, f"not JSON ({exc})") from exc
        except RecursionError as exc:
            raise JSONLDecodeError(n, "JSON nested too deeply") from exc
        try:
            return BatchResult.from_dict(d)
        except EventDecodeError as exc:
            raise JSONLDecodeError(n, f"{exc.event}: {exc.reason}") from exc
