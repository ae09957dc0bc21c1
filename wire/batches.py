"""Models, message batches, pages of either, and the batch results (JSONL) decoder.

Layer: core, beside `requests`/`http` (stdlib only; builds on `types`). Rules:
every object keeps `types.py`'s rule, `X.from_dict(d).to_dict() == d` (timestamps
stay the RFC 3339 strings sent); `JSONLDecoder` gives the same results for any
chunking of the same bytes, in time linear in them and memory bounded by
`max_line_bytes`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Protocol, TypeAlias, TypeVar

from ._deferred import ErrorGate
from .errors import (
    EventDecodeError,
    InvalidParameterError,
    JSONLDecodeError,
    JSONLError,
    JSONLLineTooLongError,
    WireError,
)
from .types import (
    _NO_KEYS,
    Message,
    _fail,
    _int,
    _missing,
    _no_extra,
    _object,
    _opt_str,
    _out,
    _split,
    _str,
    _Unknown,
    copy_json,
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


def _expect_object(d: Any, what: str) -> None:
    if type(d) is not dict:
        raise _fail(what, f"expected an object, not {type(d).__name__}")


# --- models ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Model:
    """A model (`GET /v1/models/{id}`). `lifecycle`, `max_tokens`… live in `extra`."""

    _keys: ClassVar[tuple[str, ...]] = ("type", "id", "display_name", "created_at")
    type: str = "model"
    id: str = ""
    display_name: str = ""
    created_at: str = ""
    """RFC 3339, as sent (e.g. "2026-02-04T00:00:00Z")."""
    extra: Mapping[str, Any] = field(default_factory=_no_extra)
    omitted: frozenset[str] = field(default=_NO_KEYS, repr=False)

    @property
    def lifecycle(self) -> str | None:
        """`active`, `deprecated` or `retired` (or a newer value); None when absent."""
        value = self.extra.get("lifecycle")
        return value if type(value) is str else None

    @classmethod
    def from_dict(cls, d: Any) -> Model:
        _expect_object(d, "model")
        return cls(
            type=_str(d, "type", "model", "model"),
            id=_str(d, "id", "model"),
            display_name=_str(d, "display_name", "model"),
            created_at=_str(d, "created_at", "model"),
            extra=_split(d, cls._keys),
            omitted=_missing(d, cls._keys),
        )

    def to_dict(self) -> dict[str, Any]:
        core = {
            "type": self.type,
            "id": self.id,
            "display_name": self.display_name,
            "created_at": self.created_at,
        }
        return _out(core, self.omitted, self.extra)


# --- message batches --------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestCounts:
    """A batch's requests by state; each request counts once."""

    _keys: ClassVar[tuple[str, ...]] = ("processing", "succeeded", "errored", "canceled", "expired")
    processing: int = 0
    succeeded: int = 0
    errored: int = 0
    canceled: int = 0
    expired: int = 0
    extra: Mapping[str, Any] = field(default_factory=_no_extra)
    omitted: frozenset[str] = field(default=_NO_KEYS, repr=False)

    @property
    def total(self) -> int:
        """All requests of the batch (the five counts summed)."""
        return self.processing + self.succeeded + self.errored + self.canceled + self.expired

    @classmethod
    def from_dict(cls, d: Any) -> RequestCounts:
        _expect_object(d, "request_counts")
        w = "request_counts"
        return cls(
            processing=_int(d, "processing", w),
            succeeded=_int(d, "succeeded", w),
            errored=_int(d, "errored", w),
            canceled=_int(d, "canceled", w),
            expired=_int(d, "expired", w),
            extra=_split(d, cls._keys),
            omitted=_missing(d, cls._keys),
        )

    def to_dict(self) -> dict[str, Any]:
        core = {
            "processing": self.processing,
            "succeeded": self.succeeded,
            "errored": self.errored,
            "canceled": self.canceled,
            "expired": self.expired,
        }
        return _out(core, self.omitted, self.extra)


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageBatch:
    """A message batch (create, get, list, cancel).

    `processing_status` goes `in_progress` (-> `canceling`) -> `ended`. The
    timestamps are RFC 3339 strings as sent; `ended_at`, `cancel_initiated_at`,
    `archived_at` and `results_url` are None until they apply. `results_url` is
    absolute: fetch it verbatim.
    """

    _keys: ClassVar[tuple[str, ...]] = (
        "id",
        "type",
        "processing_status",
        "request_counts",
        "created_at",
        "expires_at",
        "ended_at",
        "cancel_initiated_at",
        "archived_at",
        "results_url",
    )
    id: str = ""
    type: str = "message_batch"
    processing_status: str = ""
    request_counts: RequestCounts = field(default_factory=RequestCounts)
    created_at: str = ""
    expires_at: str = ""
    ended_at: str | None = None
    cancel_initiated_at: str | None = None
    archived_at: str | None = None
    results_url: str | None = None
    extra: Mapping[str, Any] = field(default_factory=_no_extra)
    omitted: frozenset[str] = field(default=_NO_KEYS, repr=False)

    @classmethod
    def from_dict(cls, d: Any) -> MessageBatch:
        w = "message_batch"
        _expect_object(d, w)
        return cls(
            id=_str(d, "id", w),
            type=_str(d, "type", w, w),
            processing_status=_str(d, "processing_status", w),
            request_counts=RequestCounts.from_dict(_object(d, "request_counts", w)),
            created_at=_str(d, "created_at", w),
            expires_at=_str(d, "expires_at", w),
            ended_at=_opt_str(d, "ended_at", w),
            cancel_initiated_at=_opt_str(d, "cancel_initiated_at", w),
            archived_at=_opt_str(d, "archived_at", w),
            results_url=_opt_str(d, "results_url", w),
            extra=_split(d, cls._keys),
            omitted=_missing(d, cls._keys),
        )

    def to_dict(self) -> dict[str, Any]:
        core = {
            "id": self.id,
            "type": self.type,
            "processing_status": self.processing_status,
            "request_counts": self.request_counts.to_dict(),
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "ended_at": self.ended_at,
            "cancel_initiated_at": self.cancel_initiated_at,
            "archived_at": self.archived_at,
            "results_url": self.results_url,
        }
        return _out(core, self.omitted, self.extra)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeletedMessageBatch:
    """The answer to `DELETE /v1/messages/batches/{id}`."""

    _keys: ClassVar[tuple[str, ...]] = ("id", "type")
    id: str = ""
    type: str = "message_batch_deleted"
    extra: Mapping[str, Any] = field(default_factory=_no_extra)
    omitted: frozenset[str] = field(default=_NO_KEYS, repr=False)

    @classmethod
    def from_dict(cls, d: Any) -> DeletedMessageBatch:
        w = "message_batch_deleted"
        _expect_object(d, w)
        return cls(
            id=_str(d, "id", w),
            type=_str(d, "type", w, w),
            extra=_split(d, cls._keys),
            omitted=_missing(d, cls._keys),
        )

    def to_dict(self) -> dict[str, Any]:
        return _out({"id": self.id, "type": self.type}, self.omitted, self.extra)


# --- pages -----------------------------------------------------------------------------


class _APIObject(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


_T = TypeVar("_T", bound=_APIObject)


@dataclass(frozen=True, slots=True, kw_only=True)
class Page(Generic[_T]):
    """One page of a list endpoint: `Page.from_dict(body, Model.from_dict)` -> `Page[Model]`.

    `next_after_id` / `next_before_id` apply the SDK's paging rule (PROTOCOL.md
    §2.3), so a lister loops while one is not None.
    """

    _keys: ClassVar[tuple[str, ...]] = ("data", "has_more", "first_id", "last_id")
    data: tuple[_T, ...] = ()
    has_more: bool = False
    first_id: str | None = None
    last_id: str | None = None
    extra: Mapping[str, Any] = field(default_factory=_no_extra)
    omitted: frozenset[str] = field(default=_NO_KEYS, repr=False)

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
    def from_dict(cls, d: Any, item: Callable[[Any], _T]) -> Page[_T]:
        """Parse a page body; `item` parses each element of `data` (e.g. `Model.from_dict`)."""
        _expect_object(d, "page")
        data = d.get("data", [])
        if type(data) is not list:
            raise _fail("page", f"'data' must be a list, not {type(data).__name__}")
        has_more = d.get("has_more", False)
        if type(has_more) is not bool:
            raise _fail("page", f"'has_more' must be a boolean, not {type(has_more).__name__}")
        return cls(
            data=tuple(item(x) for x in data),
            has_more=has_more,
            first_id=_opt_str(d, "first_id", "page"),
            last_id=_opt_str(d, "last_id", "page"),
            extra=_split(d, cls._keys),
            omitted=_missing(d, cls._keys),
        )

    def to_dict(self) -> dict[str, Any]:
        core = {
            "data": [x.to_dict() for x in self.data],
            "has_more": self.has_more,
            "first_id": self.first_id,
            "last_id": self.last_id,
        }
        return _out(core, self.omitted, self.extra)


# --- batch results ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SucceededResult:
    """The request succeeded: `message` is the Message a direct call would have returned."""

    type: ClassVar[str] = "succeeded"
    _keys: ClassVar[tuple[str, ...]] = ("type", "message")
    message: Message = field(default_factory=Message)
    extra: Mapping[str, Any] = field(default_factory=_no_extra)
    omitted: frozenset[str] = field(default=_NO_KEYS, repr=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SucceededResult:
        return cls(
            message=Message.from_dict(_object(d, "message", "succeeded result")),
            extra=_split(d, cls._keys),
            omitted=_missing(d, cls._keys),
        )

    def to_dict(self) -> dict[str, Any]:
        return _out(
            {"type": "succeeded", "message": self.message.to_dict()}, self.omitted, self.extra
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ErroredResult:
    """The request failed: `error` is the API's error envelope, as a direct call gets it.

    The envelope is `{"type": "error", "error": {"type", "message"}, "request_id"}`;
    the properties also read a bare `{"type", "message"}` error object.
    """

    type: ClassVar[str] = "errored"
    _keys: ClassVar[tuple[str, ...]] = ("type", "error")
    error: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=_no_extra)
    omitted: frozenset[str] = field(default=_NO_KEYS, repr=False)

    def _inner(self) -> Mapping[str, Any]:
        inner = self.error.get("error")
        return inner if type(inner) is dict else self.error

    @property
    def error_type(self) -> str | None:
        """The error's type (e.g. `invalid_request_error`), or None when not a string."""
        value = self._inner().get("type")
        return value if type(value) is str else None

    @property
    def error_message(self) -> str:
        value = self._inner().get("message")
        return value if type(value) is str else ""

    @property
    def request_id(self) -> str | None:
        value = self.error.get("request_id")
        return value if type(value) is str else None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ErroredResult:
        return cls(
            error=_object(d, "error", "errored result"),
            extra=_split(d, cls._keys),
            omitted=_missing(d, cls._keys),
        )

    def to_dict(self) -> dict[str, Any]:
        return _out({"type": "errored", "error": copy_json(self.error)}, self.omitted, self.extra)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Bare:
    """A result that is its `type` alone (plus any keys the API adds later)."""

    type: ClassVar[str]
    extra: Mapping[str, Any] = field(default_factory=_no_extra)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Any:
        return cls(extra=_split(d, ("type",)))

    def to_dict(self) -> dict[str, Any]:
        return _out({"type": self.type}, _NO_KEYS, self.extra)


@dataclass(frozen=True, slots=True, kw_only=True)
class CanceledResult(_Bare):
    """The batch was canceled before this request was processed."""

    type: ClassVar[str] = "canceled"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpiredResult(_Bare):
    """The batch reached its 24-hour limit before this request was processed."""

    type: ClassVar[str] = "expired"


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownResult(_Unknown):
    """A result of a type wire does not know yet, kept whole."""


BatchRequestResult: TypeAlias = (
    SucceededResult | ErroredResult | CanceledResult | ExpiredResult | UnknownResult
)

_RESULTS: dict[str, Any] = {
    cls.type: cls for cls in (SucceededResult, ErroredResult, CanceledResult, ExpiredResult)
}


def result_from_dict(d: Any) -> BatchRequestResult:
    """The typed `result` of a results line; unknown types become `UnknownResult`."""
    _expect_object(d, "result")
    result_type = d.get("type")
    if type(result_type) is not str:
        raise _fail("result", "'type' must be a string")
    result: BatchRequestResult = _RESULTS.get(result_type, UnknownResult).from_dict(d)
    return result


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchResult:
    """One line of a batch's results: the request's `custom_id` and its `result`.

    Both keys are required: a line without them is refused, not defaulted.
    """

    custom_id: str
    result: BatchRequestResult
    extra: Mapping[str, Any] = field(default_factory=_no_extra)

    @classmethod
    def from_dict(cls, d: Any) -> BatchResult:
        _expect_object(d, "batch result")
        for key in ("custom_id", "result"):
            if key not in d:
                raise _fail("batch result", f"{key!r} is missing")
        return cls(
            custom_id=_str(d, "custom_id", "batch result"),
            result=result_from_dict(d["result"]),
            extra=_split(d, ("custom_id", "result")),
        )

    def to_dict(self) -> dict[str, Any]:
        return _out(
            {"custom_id": self.custom_id, "result": self.result.to_dict()}, _NO_KEYS, self.extra
        )


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
