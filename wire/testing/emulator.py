"""The API emulator's logic, sans-IO: request bytes in, actions (send, sleep, close) out.

`Emulator` holds what all connections share (batches, counters, fault
`times`); `EmulatorConnection` is one HTTP/1.1 server connection over h11.
`receive_data(data, now)` returns the actions that answer the requests the
bytes completed; the runtime (`wire.testing.server`) performs them. Time is
always passed in, so tests can drive batches and rate-limit windows by hand.

Fidelity targets PROTOCOL.md §9: both auth headers, both `anthropic-version`
values, the error envelope and statuses, `request-id` and counting-down
`anthropic-ratelimit-*` headers, streams with an `event:` line on every event,
pages with `has_more`/`first_id`/`last_id`, batches with an absolute
`results_url` and LF-terminated JSONL results.
"""

from __future__ import annotations

import gzip as _gzip
import itertools
import json
import math
import random
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NoReturn
from urllib.parse import parse_qs, unquote, unquote_plus, urlsplit

import h11

import wire.testing.replies as replies
import wire.testing.validation as validation
from wire._sse import encode_sse
from wire.testing._http import api_id  # what every kit server shares
from wire.testing._server_connection import (
    ACTIONS_PER_STEP as ACTIONS_PER_STEP,  # re-exported: a batch's bound, for tests
)
from wire.testing._server_connection import (
    Action,
    Close,
    Send,
    ServerConnection,
    Sleep,
)
from wire.testing.chaos import Chaos, ChaosRecord, FaultControls, Hit
from wire.testing.faults import ERROR_TYPES, LONG_LINE_BYTES, FaultError, Faults, parse_faults
from wire.testing.ratelimits import RateLimited, RateLimiter

__all__ = ["MODELS", "Action", "Close", "Emulator", "EmulatorConnection", "Send", "Sleep"]

VERSIONS = ("2023-06-01", "2026-10-21")
# Request JSON nested deeper than this is a 400: it bounds the recursion any code
# walking a body needs (the API refuses absurd nesting too).
MAX_JSON_DEPTH = 128
# `reply=long` without streaming builds the whole message: bounded as the API bounds
# a model's output. Streamed, it is made as it is sent, so any `max_tokens` up to 10**18
# goes (more would never end, and leave the range of the counts a stream keeps).
MAX_LONG_JSON_TOKENS = 128_000
MAX_LONG_STREAM_TOKENS = 10**18
# Failures kept in `Emulator.failures` (the first ones: they are bugs to report).
_MAX_FAILURES = 100
# The methods each path takes (any other method there is a 405).
_GET, _POST = ("GET", "HEAD"), ("POST",)

# The model objects of `GET /v1/models`, from the one table of model facts.
MODELS: tuple[dict[str, Any], ...] = tuple(facts.to_json() for facts in validation.MODELS)


class _APIFailure(Exception):
    """An error response to send: status and envelope message."""

    def __init__(
        self, status: int, message: str, headers: list[tuple[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or []


@dataclass
class _Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    host: str
    path: str = ""
    query: dict[str, list[str]] = field(default_factory=dict)
    reply: str | None = None  # the kind of reply `x-wire-fault` asks for ("long")
    chaos: Hit | None = None  # the fault chaos chose for it, logged once it has an id


@dataclass
class _Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    frames: Iterable[bytes] | None = None  # SSE events, each one whole frame, maybe lazy
    frame_count: int = 0  # how many `frames` yields
    pace: float = 0.0  # seconds between content frames
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _Batch:
    id: str
    created: float
    requests: list[dict[str, Any]]
    headers: dict[str, str] = field(default_factory=dict)  # version and betas, for the params
    canceled: float | None = None
    deleted: bool = False

    def finished(self, now: float, seconds: float) -> int:
        """How many requests are done at `now` (they finish evenly over `seconds`)."""
        n = len(self.requests)
        if seconds <= 0 or n == 0:
            return n
        return min(n, int((now - self.created) / seconds * n))


def _not_allowed(request: _Request, methods: tuple[str, ...]) -> NoReturn:
    """A known path asked with another method: the 405 with `allow`."""
    raise _APIFailure(
        405, f"method not allowed: {request.method} {request.path}", [("allow", ", ".join(methods))]
    )


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in a JSON value (0 for a scalar), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level)
            if level <= MAX_JSON_DEPTH:  # deeper is refused anyway: no need to look further
                stack.extend((child, level + 1) for child in item)
    return deepest


def _not_json(constant: str) -> NoReturn:
    """`NaN`, `Infinity` and `-Infinity` are not JSON (Python's parser takes them)."""
    raise ValueError(f"{constant} is not valid JSON")


def _rfc3339(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _frame(event: dict[str, Any]) -> bytes:
    """One stream event as the API frames it (pings spelled as the API spells them)."""
    if event["type"] == "ping":
        return encode_sse('{"type": "ping"}', event="ping")
    return encode_sse(
        json.dumps(event, separators=(",", ":"), ensure_ascii=False), event=event["type"]
    )


class Emulator(FaultControls):
    """The emulated API: state shared by every connection of one server.

    `api_key=None` accepts any non-empty key (as `x-api-key` or
    `Authorization: Bearer`); a string accepts only that key. Replies are a
    function of `seed` and the request; `batch_seconds` is how long a batch
    takes to end; `pace` (tokens per second) slows streams down to mimic real
    latency (0: as fast as possible). Messages are counted per model class
    against requests, input and output tokens per minute (`wire.testing.ratelimits`:
    `tier` 1-4 presets, the `*_per_minute` overrides for every class, `limits` per
    class, `minute_seconds` to shorten the minute) and answered with that class'
    `anthropic-ratelimit-*` headers; with `enforce_limits` a message a bucket cannot
    admit gets the API's 429 with a truthful `retry-after`.
    `scheme` is the one the server speaks ("https" under TLS), for absolute URLs.
    Requests are validated as the API validates them (`wire.testing.validation`);
    `lenient=True` accepts anything well-formed instead (any `claude-*` model, unknown
    fields and betas), for forward-compatibility tests.
    `chaos` (`Chaos`, or `"SEED[:RATE]"`) injects faults into a seeded share of requests,
    calling `on_chaos` with each `ChaosRecord`; `set_faults`/`set_chaos` change them live
    (`wire.testing.chaos`).
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        seed: int = 0,
        batch_seconds: float = 1.0,
        pace: float = 0.0,
        requests_per_minute: int | None = None,
        input_tokens_per_minute: int | None = None,
        output_tokens_per_minute: int | None = None,
        enforce_limits: bool = False,
        tier: int | None = None,
        limits: dict[str, tuple[int, int, int]] | None = None,
        minute_seconds: float = 60.0,
        scheme: str = "http",
        lenient: bool = False,
        chaos: Chaos | str | int | None = None,
        on_chaos: Callable[[ChaosRecord], None] | None = None,
    ) -> None:
        super().__init__(chaos, on_chaos)
        self.api_key = api_key
        self.lenient = lenient
        self.scheme = scheme
        self.seed = seed
        self.batch_seconds = batch_seconds
        self.pace = pace
        self.rate_limits = RateLimiter(
            tier=tier,
            requests_per_minute=requests_per_minute,
            input_tokens_per_minute=input_tokens_per_minute,
            output_tokens_per_minute=output_tokens_per_minute,
            limits=limits,
            minute_seconds=minute_seconds,
            enforce=enforce_limits,
        )
        self._ids = random.Random(f"ids-{seed}")
        self._fault_uses: dict[str, int] = {}
        self._batches: dict[str, _Batch] = {}
        self.requests_seen = 0
        self.failures: list[Exception] = []

    def failed(self, exc: Exception) -> None:
        """Keep an internal failure a connection contained (each one is an emulator bug)."""
        if len(self.failures) < _MAX_FAILURES:
            self.failures.append(exc)

    def connection(self) -> EmulatorConnection:
        return EmulatorConnection(self)

    def new_id(self, prefix: str) -> str:
        """A fresh id in the API's style (prefix, "01", 22 characters), from the seed."""
        return api_id(self._ids, prefix)

    # -- one request -------------------------------------------------------------------------

    def precheck(self, request: _Request) -> _Response | None:
        """The error a request gets before its body is read (key, version), if any."""
        try:
            self._authenticate(request.headers)
        except _APIFailure as failure:
            self.requests_seen += 1
            return self._error(failure.status, failure.message)
        return None

    def respond(self, request: _Request, now: float) -> tuple[_Response, Faults]:
        """The response to one request, and the faults to apply to it."""
        self.requests_seen += 1
        try:
            self._authenticate(request.headers)
            faults = self._faults(request)
            target = urlsplit(request.target)
            request.path, request.query = target.path, parse_qs(target.query)
            request.reply = faults.reply
        except ValueError:  # urlsplit: e.g. an unclosed IPv6 host in an absolute target
            return self._error(400, "invalid request target"), Faults()
        except _APIFailure as failure:
            return self._error(failure.status, failure.message), Faults()
        if faults.status is not None:
            response = self._error(faults.status, "injected fault")
            if faults.retry_after is not None:
                response.headers.append(("retry-after", faults.retry_after))
            return response, faults
        try:
            if not self.lenient:
                validation.check_betas(request.headers)
            response = self._route(request, now)
        except validation.RequestRejected as rejected:
            response = self._error(rejected.status, rejected.message, rejected.error_type)
        except _APIFailure as failure:
            response = self._error(failure.status, failure.message)
            response.headers += failure.headers
        return response, faults

    def _error(self, status: int, message: str, error_type: str | None = None) -> _Response:
        error_type = error_type or ERROR_TYPES.get(
            status, "api_error" if status >= 500 else "invalid_request_error"
        )
        envelope = {
            "type": "error",
            "error": {"type": error_type, "message": message},
            "request_id": None,
        }
        return _Response(status, _dumps(envelope))

    def _authenticate(self, headers: dict[str, str]) -> None:
        key = headers.get("x-api-key", "")
        if not key and headers.get("authorization", "").lower().startswith("bearer "):
            key = headers["authorization"][7:].strip()
        if not key or (self.api_key is not None and key != self.api_key):
            raise _APIFailure(401, "invalid x-api-key")
        version = headers.get("anthropic-version")
        if version is None:
            raise _APIFailure(400, "anthropic-version: header is required")
        if version not in VERSIONS:
            raise _APIFailure(400, f"anthropic-version: {version!r} is not a valid version")

    def _faults(self, request: _Request) -> Faults:
        own = request.headers.get("x-wire-fault")
        raw, request.chaos = self.fault_for(own, request.method, request.target, request.body)
        try:
            faults = parse_faults(raw)
        except FaultError as exc:
            raise _APIFailure(400, f"x-wire-fault: {exc}") from None
        if own is not None and faults.times is not None:
            used = self._fault_uses.get(own, 0)
            self._fault_uses[own] = used + 1
            if used >= faults.times:
                return Faults()
        return faults

    def _route(self, request: _Request, now: float) -> _Response:
        """Dispatch on the path; a known path with the wrong method is a 405.

        `HEAD` is answered as `GET` (the runtime sends the head only).
        """
        parts = [unquote(p) for p in request.path.split("/")[1:]]
        if parts[:1] != ["v1"]:
            raise _APIFailure(404, f"not found: {request.path}")
        parts = parts[1:]
        method = "GET" if request.method == "HEAD" else request.method
        if parts == ["messages"] and method == "POST":
            return self._create_message(request, now)
        if parts == ["messages", "count_tokens"] and method == "POST":
            body = self._json_body(request)
            if self.lenient:
                self._check_message_params(body, request.headers)
            else:
                validation.check_count_tokens(body, request.headers)
            return _Response(200, _dumps({"input_tokens": replies.count_tokens(body)}))
        if parts == ["models"] and method == "GET":
            return _Response(200, _dumps(self._page(list(MODELS), request.query)))
        if len(parts) == 2 and parts[0] == "models" and method == "GET":
            return _Response(200, _dumps(self._model(parts[1])))
        if parts[:2] == ["messages", "batches"]:
            return self._batch_route(method, parts[2:], request, now)
        if parts in (["messages"], ["messages", "count_tokens"]):
            _not_allowed(request, _POST)
        if parts == ["models"] or (len(parts) == 2 and parts[0] == "models"):
            _not_allowed(request, _GET)
        raise _APIFailure(404, f"not found: {request.method} {request.path}")

    # -- messages --------------------------------------------------------------------------------

    def _json_body(self, request: _Request) -> dict[str, Any]:
        try:
            body = json.loads(request.body, parse_constant=_not_json)
        except ValueError:
            raise _APIFailure(400, "the request body is not valid JSON") from None
        except RecursionError:
            body = None  # deeper than the parser goes: refused below as too deep
        if body is None or _depth(body) > MAX_JSON_DEPTH:
            raise _APIFailure(400, f"the request body is nested deeper than {MAX_JSON_DEPTH}")
        if not isinstance(body, dict):
            raise _APIFailure(400, "the request body must be a JSON object")
        return body

    def _model(self, model_id: Any) -> dict[str, Any]:
        facts = validation.find_model(model_id)
        if facts is not None:  # an id or an alias (the API resolves aliases here too)
            return facts.to_json()
        if self.lenient and isinstance(model_id, str) and model_id.startswith("claude-"):
            # Unlisted claude-* ids act as aliases, so clients may name any current model.
            return {**MODELS[0], "id": model_id}
        raise _APIFailure(404, f"model: {model_id}")

    def _check_create(
        self, body: dict[str, Any], headers: dict[str, str], *, output_limit: bool = True
    ) -> str:
        """Validate a create body (as the API does, or leniently); the model id to answer with.

        `output_limit=False` lifts the model's `max_tokens` limit (for `reply=long` streams).
        """
        if self.lenient:
            self._check_message_params(body, headers, create=True)
            facts = validation.find_model(body["model"])
            return facts.id if facts is not None else str(body["model"])
        return validation.check_create(body, headers, output_limit=output_limit).id

    def _check_message_params(
        self, body: dict[str, Any], headers: dict[str, str], *, create: bool = False
    ) -> None:
        """The lenient checks: just what a reply needs."""
        self._model(body.get("model"))
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _APIFailure(400, "messages: at least one message is required")
        for i, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
                raise _APIFailure(400, f"messages.{i}.role: must be 'user' or 'assistant'")
            if not isinstance(message.get("content"), str | list):
                raise _APIFailure(400, f"messages.{i}.content: must be a string or a list")
        if create:
            max_tokens = body.get("max_tokens")
            if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 0:
                raise _APIFailure(400, "max_tokens: must be a non-negative integer")
            if headers.get("anthropic-version") == "2026-10-21":
                for name in ("temperature", "top_p", "top_k"):
                    if name in body:
                        raise _APIFailure(400, f"{name}: not supported in 2026-10-21")

    def _reply(self, body: dict[str, Any]) -> replies.Reply:
        """The reply to a checked body (its `model` already resolved)."""
        message_id = self.new_id("msg_")
        if body.get("max_tokens") == 0:  # pre-warms the cache: nothing is generated
            usage = {"input_tokens": replies.count_tokens(body), "output_tokens": 0}
            message = {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": [],
                "stop_reason": "max_tokens",
                "stop_sequence": None,
                "usage": usage,
            }
            shell = {**message, "stop_reason": None}
            return replies.Reply(
                message=message,
                events=[
                    {"type": "message_start", "message": shell},
                    {
                        "type": "message_delta",
                        "delta": {"stop_reason": "max_tokens", "stop_sequence": None},
                        "usage": {"output_tokens": 0},
                    },
                    {"type": "message_stop"},
                ],
            )
        return replies.make_reply(body, seed=self.seed, message_id=message_id)

    def _create_message(self, request: _Request, now: float) -> _Response:
        body = self._json_body(request)
        model = self._check_create(body, request.headers, output_limit=request.reply != "long")
        body = {**body, "model": model}
        stream = body.get("stream") is True
        reply: replies.Reply | replies.LongReply
        if request.reply == "long" and body["max_tokens"] > MAX_LONG_STREAM_TOKENS:
            raise _APIFailure(400, f"max_tokens: reply=long takes at most {MAX_LONG_STREAM_TOKENS}")
        if request.reply == "long" and body["max_tokens"] > 0:
            if not stream and body["max_tokens"] > MAX_LONG_JSON_TOKENS:
                raise _APIFailure(
                    400,
                    f"max_tokens: reply=long without streaming takes at most "
                    f"{MAX_LONG_JSON_TOKENS} (stream for more)",
                )
            reply = replies.LongReply(body, seed=self.seed, message_id=self.new_id("msg_"))
            usage = reply.usage
        else:
            reply = self._reply(body)
            usage = reply.message["usage"]
        headers = self._count(model, now, usage)
        if not stream:
            message = reply.message() if isinstance(reply, replies.LongReply) else reply.message
            return _Response(200, _dumps(message), headers=headers)
        if isinstance(reply, replies.LongReply):
            events: Iterable[dict[str, Any]] = reply.events()
            count = reply.event_count
        else:
            events, count = reply.events, len(reply.events)
        return _Response(
            200,
            content_type="text/event-stream; charset=utf-8",
            frames=map(_frame, events),  # encoded as they are sent
            frame_count=count,
            pace=1.0 / self.pace if self.pace > 0 else 0.0,
            headers=[*headers, ("cache-control", "no-cache")],
        )

    def _count(self, model: str, now: float, usage: dict[str, Any]) -> list[tuple[str, str]]:
        """Book a message against its model class' limits; the rate-limit headers that apply.

        ITPM counts `input_tokens + cache_creation_input_tokens`, OTPM the output tokens.
        A refusal is the API's 429 with `retry-after` in whole seconds, rounded up (and
        `retry-after-ms` too when the minute is shortened).
        """
        try:
            return self.rate_limits.admit(
                model,
                now,
                input_tokens=usage.get("input_tokens", 0)
                + usage.get("cache_creation_input_tokens", 0),
                output_tokens=usage.get("output_tokens", 0),
            )
        except RateLimited as refused:
            headers = [("retry-after", str(max(1, math.ceil(refused.wait))))]
            if self.rate_limits.minute_seconds != 60.0:
                headers.append(("retry-after-ms", str(math.ceil(refused.wait * 1000))))
            raise _APIFailure(429, str(refused), headers + refused.headers) from None

    # -- pages --------------------------------------------------------------------------------

    def _page(self, items: list[dict[str, Any]], query: dict[str, list[str]]) -> dict[str, Any]:
        def one(name: str) -> str | None:
            values = query.get(name)
            return values[-1] if values else None

        try:
            limit = int(one("limit") or 20)
        except ValueError:
            raise _APIFailure(400, "limit: must be an integer") from None
        if not 1 <= limit <= 1000:
            raise _APIFailure(400, "limit: must be between 1 and 1000")
        ids = [item["id"] for item in items]
        after, before = one("after_id"), one("before_id")
        if after is not None:
            if after not in ids:
                raise _APIFailure(400, f"after_id: unknown id {after}")
            start = ids.index(after) + 1
            chosen = items[start : start + limit]
            has_more = start + limit < len(items)
        elif before is not None:
            if before not in ids:
                raise _APIFailure(400, f"before_id: unknown id {before}")
            end = ids.index(before)
            chosen = items[max(0, end - limit) : end]
            has_more = end - limit > 0
        else:
            chosen = items[:limit]
            has_more = limit < len(items)
        return {
            "data": chosen,
            "has_more": has_more,
            "first_id": chosen[0]["id"] if chosen else None,
            "last_id": chosen[-1]["id"] if chosen else None,
        }

    # -- batches ------------------------------------------------------------------------------

    def _batch_route(
        self, method: str, parts: list[str], request: _Request, now: float
    ) -> _Response:
        if not parts:
            if method == "POST":
                return _Response(200, _dumps(self._create_batch(request, now)))
            if method == "GET":
                listed = [
                    self._batch_json(b, now, request.host)
                    for b in reversed(self._batches.values())
                    if not b.deleted
                ]
                return _Response(200, _dumps(self._page(listed, request.query)))
            _not_allowed(request, ("GET", "HEAD", "POST"))
        batch = self._batches.get(parts[0])
        if batch is None or batch.deleted:
            raise _APIFailure(404, f"message batch not found: {parts[0]}")
        rest = parts[1:]
        if rest == [] and method == "GET":
            return _Response(200, _dumps(self._batch_json(batch, now, request.host)))
        if rest == [] and method == "DELETE":
            if not self._ended(batch, now):
                raise _APIFailure(400, "a batch can be deleted only once it has ended")
            batch.deleted = True
            return _Response(200, _dumps({"id": batch.id, "type": "message_batch_deleted"}))
        if rest == ["cancel"] and method == "POST":
            if batch.canceled is None and not self._ended(batch, now):
                batch.canceled = now
            return _Response(200, _dumps(self._batch_json(batch, now, request.host)))
        if rest == ["results"] and method == "GET":
            if not self._ended(batch, now):
                raise _APIFailure(400, "results are available once the batch has ended")
            return _Response(200, self._results(batch, now), content_type="application/binary")
        known = {(): ("GET", "HEAD", "DELETE"), ("cancel",): _POST, ("results",): _GET}
        if tuple(rest) in known:
            _not_allowed(request, known[tuple(rest)])
        raise _APIFailure(404, f"not found: {request.method} {request.path}")

    def _create_batch(self, request: _Request, now: float) -> dict[str, Any]:
        body = self._json_body(request)
        if not self.lenient:
            validation.check_batch(body)
        items = body.get("requests")
        if not isinstance(items, list) or not items:
            raise _APIFailure(400, "requests: at least one request is required")
        seen: set[str] = set()
        for i, item in enumerate(items):
            custom_id = item.get("custom_id") if isinstance(item, dict) else None
            if not isinstance(custom_id, str) or not custom_id or custom_id in seen:
                raise _APIFailure(400, f"requests.{i}.custom_id: must be a unique string")
            if not isinstance(item.get("params"), dict):
                raise _APIFailure(400, f"requests.{i}.params: must be an object")
            seen.add(custom_id)
        kept = ("anthropic-version", "anthropic-beta")
        headers = {k: v for k, v in request.headers.items() if k in kept}
        batch = _Batch(self.new_id("msgbatch_"), now, items, headers)
        self._batches[batch.id] = batch
        return self._batch_json(batch, now, request.host)

    def _done(self, batch: _Batch, now: float) -> int:
        at = now if batch.canceled is None else min(now, batch.canceled)
        return batch.finished(at, self.batch_seconds)

    def _ended(self, batch: _Batch, now: float) -> bool:
        return batch.canceled is not None or self._done(batch, now) == len(batch.requests)

    def _outcome(self, batch: _Batch, index: int, now: float) -> dict[str, Any]:
        """The result of request `index` (once the batch ended)."""
        item = batch.requests[index]
        if index >= self._done(batch, now):
            return {"type": "canceled"}
        params = item["params"]
        try:
            model = self._check_create(params, batch.headers)
            if params.get("stream"):
                raise _APIFailure(400, "stream: not supported in batches")
        except (_APIFailure, validation.RequestRejected) as failure:
            error_type = getattr(failure, "error_type", "invalid_request_error")
            envelope = {
                "type": "error",
                "error": {"type": error_type, "message": failure.message},
                "request_id": self.new_id("req_"),
            }
            return {"type": "errored", "error": envelope}
        message = replies.make_reply(
            {**params, "model": model},
            seed=self.seed,
            message_id=f"msg_{batch.id[9:]}{index:04d}",
        ).message
        message["usage"] = {**message["usage"], "service_tier": "batch"}
        return {"type": "succeeded", "message": message}

    def _batch_json(self, batch: _Batch, now: float, host: str) -> dict[str, Any]:
        ended = self._ended(batch, now)
        # As the API: every request counts as processing until the whole batch ends.
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if ended:
            for i in range(len(batch.requests)):
                counts[self._outcome(batch, i, now)["type"]] += 1
        else:
            counts["processing"] = len(batch.requests)
        end_time = (
            batch.canceled if batch.canceled is not None else (batch.created + self.batch_seconds)
        )
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": counts,
            "created_at": _rfc3339(batch.created),
            "expires_at": _rfc3339(batch.created + 86400),
            "ended_at": _rfc3339(end_time) if ended else None,
            "cancel_initiated_at": _rfc3339(batch.canceled) if batch.canceled else None,
            "archived_at": None,
            "results_url": f"{self.scheme}://{host}/v1/messages/batches/{batch.id}/results"
            if ended
            else None,
        }

    def _results(self, batch: _Batch, now: float) -> bytes:
        lines = [
            _dumps({"custom_id": item["custom_id"], "result": self._outcome(batch, i, now)})
            for i, item in enumerate(batch.requests)
        ]
        return b"".join(line + b"\n" for line in lines)


class EmulatorConnection(ServerConnection):
    """One server-side HTTP/1.1 connection: `receive_data(bytes, now) -> list[Action]`.

    Responses are produced lazily, a bounded batch of actions at a time: while
    `pending` is true, more actions are ready without more bytes, and the runtime
    asks for them with `next_actions(now)` (so one large reply never holds the loop
    or memory). Bad requests get the API's error envelope; a failure inside the
    emulator is kept in `Emulator.failures` and answered with a 500 `api_error`
    (or a close, if the response had begun): it never escapes.
    """

    name = "emulator"

    def __init__(self, emulator: Emulator) -> None:
        super().__init__()
        self.emulator = emulator
        self._output: Iterator[Action] | None = None  # the response being sent
        self._peeked: Action | None = None  # its next action, taken to know if there is one

    @property
    def pending(self) -> bool:
        """Whether a response is still being produced (call `next_actions`)."""
        return self._output is not None and not self.closed

    def _step(self, now: float) -> list[Action]:
        actions: list[Action] = []
        try:
            while not self.closed and len(actions) < ACTIONS_PER_STEP:
                if self._output is None:
                    if not self._next_event(now, actions):
                        break
                    continue
                action = self._peeked if self._peeked is not None else next(self._output, None)
                self._peeked = None
                if action is None:
                    self._finish()
                    continue
                actions.append(action)
                if isinstance(action, Close):
                    self.closed = True
            if self._output is not None and not self.closed:
                # Look one action ahead, so `pending` is false once a response is all out
                # (no empty last batch), unless a pipelined request is already buffered.
                self._peeked = next(self._output, None)
                if self._peeked is None:
                    self._finish()
                    if self._h11.trailing_data[0]:
                        self._output = iter(())
        except Exception as exc:  # a bug in the emulator: contained to this connection
            actions += self._internal_error(exc)
        return actions

    def _respond(self, body: bytes, now: float) -> None:
        self._output = self._answer(self._parsed(body), now)

    def _before_body(self, now: float) -> bool:
        """A request the emulator refuses from its head gets the final status at once."""
        request = self._parsed(b"")
        refused = self.emulator.precheck(request)
        if refused is not None:
            self._output = self._answer(request, now, refused)
        return refused is not None

    def _drop(self) -> None:
        self._output = self._peeked = None

    def _new_id(self) -> str:
        return self.emulator.new_id("req_")

    def _failed(self, exc: Exception) -> None:
        self.emulator.failed(exc)

    def _parsed(self, body: bytes) -> _Request:
        event = self._request
        assert event is not None
        headers = {
            bytes(k).decode("latin-1").lower(): bytes(v).decode("latin-1") for k, v in event.headers
        }
        return _Request(
            bytes(event.method).decode("ascii", "replace"),
            bytes(event.target).decode("latin-1"),
            headers,
            body,
            headers.get("host", "127.0.0.1"),
        )

    def _answer(
        self, request: _Request, now: float, refused: _Response | None = None
    ) -> Iterator[Action]:
        """The actions for one response; `refused` is an early answer sent before the body."""
        if refused is None:
            response, faults = self.emulator.respond(request, now)
        else:
            response, faults = refused, Faults()
            response.headers.append(("connection", "close"))
        request_id = self.emulator.new_id("req_")
        if request.chaos is not None:
            target = _without_key(request.target, request.headers)
            self.emulator.log_hit(request.chaos, request.method, target, request_id)
        if response.content_type == "application/json" and response.status >= 400:
            envelope = json.loads(response.body)
            envelope["request_id"] = request_id
            response.body = _dumps(envelope)
        closing = refused is not None or faults.drop_after is not None
        for action in self._render(response, faults, request_id, request.method == "HEAD"):
            yield action
            if isinstance(action, Close):
                return
        if closing or self._h11.our_state is h11.MUST_CLOSE:
            yield Close()

    def _render(
        self, response: _Response, faults: Faults, request_id: str, head_only: bool
    ) -> Iterator[Action]:
        """The response as actions, with the faults applied, produced as they are sent."""
        rng = random.Random(f"{self.emulator.seed}-{request_id}")
        headers = [
            ("content-type", response.content_type),
            ("request-id", request_id),
            ("server", "wire-emulator"),
            *response.headers,
        ]
        streaming = response.frames is not None and not head_only
        compressor = None
        if faults.gzip:
            headers.append(("content-encoding", "gzip"))
            compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        frames: Iterator[bytes | _LongLine]
        if streaming:
            headers.append(("transfer-encoding", "chunked"))
            frames, count = _stream_faults(response.frames or [], response.frame_count, faults)
        else:
            body = _gzip.compress(response.body) if compressor else response.body
            compressor = None
            headers.append(("content-length", str(len(body))))
            frames, count = iter([] if head_only else [body]), 0
        reason = b"OK" if response.status == 200 else b""
        head = self._h11.send(
            h11.Response(status_code=response.status, headers=headers, reason=reason)
        )
        self._head_sent = True
        yield Send(head or b"")
        sent = 0
        stall_at = count // 2
        for index, frame in enumerate(frames):
            parts = _parts(frame)
            if faults.stall and index == stall_at:
                if not streaming and isinstance(frame, bytes) and len(frame) > 1:
                    half = len(frame) // 2  # a JSON body stalls half-way through its bytes
                    yield from self._data([frame[:half]], faults, rng)
                    sent += half
                    parts = iter([frame[half:]])
                yield Sleep(faults.stall)
            if response.pace and index > 0:
                yield Sleep(response.pace)
            if compressor is not None:
                parts = _compressed(parts, compressor)
            for piece in faults.pieces(parts, rng):
                if faults.drop_after is not None and sent + len(piece) >= faults.drop_after:
                    if faults.drop_after > sent:
                        yield Send(
                            self._h11.send(h11.Data(data=piece[: faults.drop_after - sent])) or b""
                        )
                    yield Close()
                    return
                sent += len(piece)
                yield Send(self._h11.send(h11.Data(data=piece)) or b"")
        if compressor is not None:
            yield from self._data([compressor.flush()], faults, rng)
        yield Send(self._h11.send(h11.EndOfMessage()) or b"")

    def _data(self, parts: list[bytes], faults: Faults, rng: random.Random) -> Iterator[Action]:
        for piece in faults.pieces(parts, rng):
            yield Send(self._h11.send(h11.Data(data=piece)) or b"")


@dataclass(frozen=True)
class _LongLine:
    """The `malformed=long-line` comment line, produced in slices as it is sent."""

    size: int = LONG_LINE_BYTES
    slice: int = 64 * 1024


def _parts(frame: bytes | _LongLine) -> Iterator[bytes]:
    if isinstance(frame, bytes):
        yield frame
        return
    yield b":"
    for at in range(0, frame.size, frame.slice):
        yield b"x" * min(frame.slice, frame.size - at)
    yield b"\n"


def _compressed(parts: Iterator[bytes], compressor: Any) -> Iterator[bytes]:
    """gzip `parts`, flushed at their end (so each event is decodable when it arrives)."""
    for part in parts:
        yield compressor.compress(part)
    yield compressor.flush(zlib.Z_SYNC_FLUSH)


def _stream_faults(
    frames: Iterable[bytes], count: int, faults: Faults
) -> tuple[Iterator[bytes | _LongLine], int]:
    """Stream-only faults (an error event mid-stream, malformed frames), applied lazily.

    `count` is how many frames there are; returns the frames and their new count.
    """
    out: Iterator[bytes | _LongLine] = iter(frames)
    if faults.error_event:
        # After message_start and some content, as the API's overload errors come.
        cut = min(count - 1, 1 + max(1, (count - 1) // 3))
        error = {
            "type": "error",
            "error": {"type": faults.error_event, "message": "injected error event"},
        }
        error_frame = encode_sse(json.dumps(error, separators=(",", ":")), event="error")
        out = itertools.chain(itertools.islice(out, cut), [error_frame])
        count = cut + 1
    if faults.malformed == "utf8":
        out = _spoil_first_text(out)
    elif faults.malformed == "no-newline":
        out = _cut_last_line_end(out)
    elif faults.malformed == "long-line":
        out = itertools.chain(itertools.islice(out, 1), [_LongLine()], out)
        count += 1
    return out, count


def _spoil_first_text(frames: Iterator[bytes | _LongLine]) -> Iterator[bytes | _LongLine]:
    """Invalid UTF-8 at the start of the first text delta's text."""
    for frame in frames:
        marker = frame.find(b'"text":"') if isinstance(frame, bytes) else -1
        if marker >= 0 and isinstance(frame, bytes) and b"text_delta" in frame:
            at = marker + len(b'"text":"')
            yield frame[:at] + b"\xff\xfe" + frame[at:]
            break
        yield frame
    yield from frames


def _cut_last_line_end(frames: Iterator[bytes | _LongLine]) -> Iterator[bytes | _LongLine]:
    """The last frame loses its line ends (one frame of look-ahead)."""
    last = next(frames, None)
    for frame in frames:
        assert last is not None
        yield last
        last = frame
    if last is not None:
        assert isinstance(last, bytes)
        yield last.rstrip(b"\n")


def _without_key(target: str, headers: dict[str, str]) -> str:
    """`target` for a log line: the request's own key (`x-api-key`, `Authorization: Bearer`)
    replaced by `[redacted]`, as sent or percent-encoded (a client may put it in the query)."""
    keys = (headers.get("x-api-key", ""), headers.get("authorization", "").removeprefix("Bearer "))
    for key in (k.strip() for k in keys):
        if len(key) >= 4 and key.lower() in unquote_plus(target).lower():
            target = unquote_plus(target)
            target = re.sub(re.escape(key), "[redacted]", target, flags=re.IGNORECASE)
    return target
