"""Request builders: one function per API endpoint, each returning a `Request`.

Layer: core (stdlib only: no socket, no clock). Rule: every parameter is checked
before a byte exists, and a bad one raises `InvalidParameterError` naming the
builder argument (or `APIConfig` field) it came from. No secret (API key, token,
auth header value) ever reaches a `repr` or an error text: errors name headers
and types, never values. Builders never add `Host`, `Content-Length`,
`Accept-Encoding` or `Connection`: framing and reuse belong to the connection.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias
from urllib.parse import quote

from ._errors import InvalidParameterError
from ._version import __version__

__all__ = [
    "APIConfig",
    "Request",
    "batch_results",
    "cancel_batch",
    "count_tokens",
    "create_batch",
    "create_message",
    "delete_batch",
    "get_batch",
    "get_model",
    "list_batches",
    "list_models",
]

HeaderPairs: TypeAlias = Mapping[str, str] | Iterable[tuple[str, str]]

#: Header names whose values `repr` replaces with "<redacted>".
SECRET_HEADERS = frozenset({"x-api-key", "authorization", "proxy-authorization"})
#: Set by the connection. A caller's copy would duplicate Host or desynchronise
#: framing on a kept-alive connection, so default/extra headers may not name them.
CONNECTION_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "accept-encoding"}
)
_JSON = "application/json"
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 9110 field-value without obs-text: visible ASCII, inner SP/HTAB, no edge
# whitespace. Stricter than "no CR/LF/NUL" on purpose: h11 refuses the rest later
# with the value in its message, and a key read from a file with its newline fails here.
_FIELD_VALUE = re.compile(r"(?:[\x21-\x7e]+(?:[ \t]+[\x21-\x7e]+)*)?")
_PATH = re.compile(r"(?:/[A-Za-z0-9\-._~!$&'()*+,;=:@%]*)*")  # RFC 3986 path-abempty


def _value_problem(value: str) -> str | None:
    """Why `value` cannot be a header value, or None; never quotes the value."""
    if _FIELD_VALUE.fullmatch(value):
        return None
    if "\r" in value or "\n" in value or "\0" in value:
        return "contains CR, LF or NUL"
    if not value.isascii():
        return "is not ASCII"
    if value != value.strip(" \t"):
        return "has leading or trailing whitespace"
    return "contains a control character"


def _header_pairs(headers: HeaderPairs | None, param: str) -> tuple[tuple[str, str], ...]:
    """`headers` (a mapping or (name, value) pairs; None for none) as a checked tuple."""
    if headers is None:
        return ()
    if isinstance(headers, str | bytes) or not isinstance(headers, Iterable):
        kind = type(headers).__name__
        raise InvalidParameterError(param, f"must be a mapping or (name, value) pairs, not {kind}")
    items = headers.items() if isinstance(headers, Mapping) else headers
    out = []
    for i, pair in enumerate(items):
        if not (isinstance(pair, tuple | list) and len(pair) == 2):
            raise InvalidParameterError(param, f"item {i} is not a (name, value) pair")
        name, value = pair
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise InvalidParameterError(param, f"header {i}: name is not an HTTP token")
        if name.lower() in CONNECTION_HEADERS:
            raise InvalidParameterError(param, f"header {name!r} is set by the connection")
        if not isinstance(value, str):
            raise InvalidParameterError(param, f"header {name!r}: value must be a str")
        problem = _value_problem(value)
        if problem:
            raise InvalidParameterError(param, f"header {name!r}: value {problem}")
        out.append((name, value))
    return tuple(out)


def _beta_names(betas: Iterable[str] | None, param: str) -> tuple[str, ...]:
    """`betas` (None for none) as a checked tuple of beta names."""
    if betas is None:
        return ()
    if isinstance(betas, str | bytes):
        raise InvalidParameterError(param, "must be a list or tuple of str, not a single str")
    if not isinstance(betas, Iterable):
        raise InvalidParameterError(
            param, f"must be a list or tuple of str, not {type(betas).__name__}"
        )
    out = tuple(betas)
    for beta in out:
        if not isinstance(beta, str) or not _TOKEN.fullmatch(beta):
            raise InvalidParameterError(param, "each beta must be a non-empty HTTP token")
    return out


def _redacted(headers: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple((k, "<redacted>" if k.lower() in SECRET_HEADERS else v) for k, v in headers)


@dataclass(frozen=True, slots=True, repr=False)
class Request:
    """One HTTP request as values: what a `ClientConnection` turns into bytes.

    `target` is path plus query. `headers` never holds Host or Content-Length,
    which the connection adds. `repr` redacts auth headers and shows the body by
    length only, so logging a request leaks neither secrets nor prompts.
    """

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The value of header `name` (case-insensitive), or None."""
        lower = name.lower()
        for key, value in self.headers:
            if key.lower() == lower:
                return value
        return None

    def __repr__(self) -> str:
        return (
            f"Request(method={self.method!r}, target={self.target!r}, "
            f"headers={_redacted(self.headers)!r}, body=<{len(self.body)} bytes>)"
        )


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class APIConfig:
    """Per-client settings every builder takes first, checked once here.

    `api_key` is sent as `x-api-key`; `auth_token` as `authorization: Bearer`,
    only without a key. An empty string counts as unset, as with
    `ANTHROPIC_API_KEY`. `base_path` is a base URL's path ("/pfx" for
    `http://h:8080/pfx/`), trailing slashes stripped. `default_headers` follow
    the built-in headers and replace any of the same name; `betas` and
    `default_headers` may be None for none. Any other bad value raises
    `InvalidParameterError` naming the field; `repr` shows no key or token.
    """

    api_key: str | None = field(default=None, repr=False)
    auth_token: str | None = field(default=None, repr=False)
    anthropic_version: str = "2023-06-01"
    betas: tuple[str, ...] = ()
    default_headers: tuple[tuple[str, str], ...] = ()
    base_path: str = ""
    _fixed: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        put = object.__setattr__  # frozen: normalise through the back door, once
        for name in ("api_key", "auth_token"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise InvalidParameterError(name, f"must be a str, not {type(value).__name__}")
            put(self, name, value or None)
        if self.api_key is None and self.auth_token is None:
            raise InvalidParameterError("api_key", "no credentials: pass api_key or auth_token")
        param, name, secret = (
            ("api_key", "x-api-key", self.api_key)
            if self.api_key is not None
            else ("auth_token", "authorization", self.auth_token or "")
        )
        problem = _value_problem(secret)  # the raw credential: "Bearer  x" would pass
        if problem:
            raise InvalidParameterError(param, f"header {name!r}: value {problem}")
        auth = (name, secret if self.api_key is not None else f"Bearer {secret}")
        version = self.anthropic_version
        if not isinstance(version, str) or not version or _value_problem(version):
            raise InvalidParameterError("anthropic_version", "must be a non-empty header value")
        put(self, "betas", _beta_names(self.betas, "betas"))
        put(self, "default_headers", _header_pairs(self.default_headers, "default_headers"))
        base = self.base_path
        if not isinstance(base, str) or not _PATH.fullmatch(base.rstrip("/")):
            raise InvalidParameterError(
                "base_path",
                "must be '' or a percent-encoded path starting with '/', without query or fragment",
            )
        put(self, "base_path", base.rstrip("/"))
        put(
            self,
            "_fixed",
            (("anthropic-version", version), auth, ("user-agent", f"wire/{__version__}")),
        )

    def __repr__(self) -> str:
        key = "<redacted>" if self.api_key else None
        token = "<redacted>" if self.auth_token else None
        return (
            f"APIConfig(api_key={key}, auth_token={token}, "
            f"anthropic_version={self.anthropic_version!r}, betas={self.betas!r}, "
            f"default_headers={_redacted(self.default_headers)!r}, "
            f"base_path={self.base_path!r})"
        )


def _request(
    config: APIConfig,
    method: str,
    path: str,
    *,
    query: str = "",
    body: bytes | None = None,
    accept: str = _JSON,
    betas: Iterable[str] | None = (),
    extra_headers: HeaderPairs | None = (),
) -> Request:
    """Assemble a `Request`: built-in headers, then default, then extra (later wins)."""
    if not isinstance(config, APIConfig):
        raise InvalidParameterError("config", f"must be an APIConfig, not {type(config).__name__}")
    merged = {name: (name, value) for name, value in config._fixed}
    merged["accept"] = ("accept", accept)
    all_betas = dict.fromkeys(config.betas + _beta_names(betas, "betas"))  # ordered, deduped
    if all_betas:
        merged["anthropic-beta"] = ("anthropic-beta", ",".join(all_betas))
    if body is not None:
        merged["content-type"] = ("content-type", _JSON)
    for name, value in config.default_headers + _header_pairs(extra_headers, "extra_headers"):
        merged[name.lower()] = (name, value)  # same name: replaced in place
    target = config.base_path + path + query
    return Request(method, target, tuple(merged.values()), b"" if body is None else body)


# --- parameter checks: each returns a problem (no value quoted) or None --------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _max_tokens(value: Any) -> str | None:
    # PROTOCOL.md §2.1: SDK 2.14.0 accepts 0 to pre-warm the prompt cache. Issue 3
    # rules max_tokens < 1 invalid and we follow it: a 0 is far more often an unset
    # budget than a cache warm-up. Pre-warming would want its own explicit flag.
    return None if _is_int(value) and value >= 1 else "must be an int >= 1"


def _messages(value: Any) -> str | None:
    if not isinstance(value, list) or not value:
        return "must be a non-empty list"
    for i, message in enumerate(value):
        if not isinstance(message, dict):
            return f"item {i} must be a dict"
        if message.get("role") not in ("user", "assistant"):
            return f"item {i}: 'role' must be 'user' or 'assistant'"
        if not isinstance(message.get("content"), str | list):
            return f"item {i}: 'content' must be a str or a list of blocks"
    return None


def _unit(value: Any) -> str | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1
    return None if ok else "must be a number from 0 to 1"  # NaN fails the range test


def _of(*types: type, what: str) -> Callable[[Any], str | None]:
    return lambda value: None if isinstance(value, types) else f"must be {what}"


_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "model": lambda v: None if isinstance(v, str) and v else "must be a non-empty str",
    "max_tokens": _max_tokens,
    "messages": _messages,
    "stream": _of(bool, what="a bool"),
    "system": _of(str, list, what="a str or a list of blocks"),
    "tools": _of(list, what="a list"),
    "tool_choice": _of(dict, what="a dict"),
    "thinking": _of(dict, what="a dict"),
    "stop_sequences": lambda v: (
        None
        if isinstance(v, list) and all(isinstance(s, str) for s in v)
        else "must be a list of str"
    ),
    "metadata": _of(dict, what="a dict"),
    "temperature": _unit,
    "top_p": _unit,
    "top_k": lambda v: None if _is_int(v) and v >= 0 else "must be an int >= 0",
    "service_tier": _of(str, what="a str"),
}


def _message_body(
    params: Mapping[str, Any],
    required: tuple[str, ...],
    at: str | None = None,
) -> dict[str, Any]:
    """A checked create/count body: `required` keys first, then the rest as given.

    None values are dropped (never send a null the caller did not mean) and
    `stream` only appears when true. `at` locates a batch item's params: errors
    then name "requests" and say where; a batch item may not stream.
    """

    def fail(key: str, problem: str) -> InvalidParameterError:
        if at is None:
            return InvalidParameterError(key, problem)
        return InvalidParameterError("requests", f"{at}.{key}: {problem}")

    body: dict[str, Any] = {}
    for key in required:
        if params.get(key) is None:
            raise fail(key, "is required")
        body[key] = params[key]
    for key, value in params.items():
        if value is not None and key not in body:
            body[key] = value
    for key, value in body.items():
        check = _CHECKS.get(key)
        problem = check(value) if check else None
        if problem:
            raise fail(key, problem)
    if body.get("stream") is False:
        del body["stream"]
    elif at is not None and "stream" in body:
        raise fail("stream", "is not allowed in a batch request")
    return body


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


Parts: TypeAlias = Callable[[], Iterator[tuple[str, str, Any]]]


def _encode(body: dict[str, Any], parts: Parts | None = None) -> bytes:
    """`body` as compact UTF-8 JSON. On failure the first failing value among
    `parts()` — (parameter, location, value); default: `body`'s own keys — is
    named. The search runs only on failure, so success costs one `dumps`."""
    try:
        return _dumps(body)
    except (TypeError, ValueError, RecursionError):  # UnicodeEncodeError: a lone surrogate
        pass
    param, where = "body", ""
    candidates = parts() if parts else ((key, "", value) for key, value in body.items())
    for param, where, value in candidates:
        try:
            _dumps(value)
        except (TypeError, ValueError, RecursionError) as exc:
            raise InvalidParameterError(param, f"{where}is not JSON-serialisable ({exc})") from exc
    raise InvalidParameterError(param, f"{where}is not JSON-serialisable (nested too deeply)")


def _quote(value: str, param: str) -> str:
    try:
        return quote(value, safe="")
    except UnicodeEncodeError:
        raise InvalidParameterError(param, "is not encodable as UTF-8") from None


def _segment(value: Any, param: str) -> str:
    """An id as one percent-encoded path segment; refuses "", "." and ".." as the SDK does."""
    if not isinstance(value, str) or value in ("", ".", ".."):
        raise InvalidParameterError(param, "must be a str other than '', '.' and '..'")
    return _quote(value, param)


def _page_query(limit: int | None, after_id: str | None, before_id: str | None) -> str:
    """The pagination query string ("" when nothing is given).

    Giving both `after_id` and `before_id` is refused: the API documents either
    one, and which would win is unspecified.
    """
    pairs = []
    if limit is not None:
        if not _is_int(limit) or not 1 <= limit <= 1000:
            raise InvalidParameterError("limit", "must be an int from 1 to 1000")
        pairs.append(f"limit={limit}")
    for name, value in (("after_id", after_id), ("before_id", before_id)):
        if value is not None:
            if not isinstance(value, str) or not value:
                raise InvalidParameterError(name, "must be a non-empty str")
            pairs.append(f"{name}={_quote(value, name)}")
    if after_id is not None and before_id is not None:
        raise InvalidParameterError("before_id", "give after_id or before_id, not both")
    return "?" + "&".join(pairs) if pairs else ""


# --- builders ---------------------------------------------------------------------------

_CREATE = ("model", "max_tokens", "messages")
_COUNT = ("model", "messages")


def create_message(
    config: APIConfig,
    /,
    *,
    model: str,
    max_tokens: int,
    messages: list[Any],
    stream: bool = False,
    system: str | list[Any] | None = None,
    tools: list[Any] | None = None,
    tool_choice: dict[str, Any] | None = None,
    thinking: dict[str, Any] | None = None,
    stop_sequences: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    top_k: int | None = None,
    service_tier: str | None = None,
    betas: Iterable[str] | None = (),
    extra_headers: HeaderPairs | None = (),
    **fields: Any,
) -> Request:
    """POST /v1/messages. `stream=True` asks for SSE (the body decides, not Accept).

    Unknown `fields` go into the body unchanged, after the named ones: the API
    adds parameters faster than wire releases. None values are left out.
    """
    params = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": messages,
        "stream": stream,
        "system": system,
        "tools": tools,
        "tool_choice": tool_choice,
        "thinking": thinking,
        "stop_sequences": stop_sequences,
        "metadata": metadata,
        "temperature": temperature,
        "top_p": top_p,
        "top_k": top_k,
        "service_tier": service_tier,
        **fields,
    }
    body = _message_body(params, _CREATE)
    return _request(
        config, "POST", "/v1/messages", body=_encode(body), betas=betas, extra_headers=extra_headers
    )


def count_tokens(
    config: APIConfig,
    /,
    *,
    model: str,
    messages: list[Any],
    system: str | list[Any] | None = None,
    tools: list[Any] | None = None,
    tool_choice: dict[str, Any] | None = None,
    thinking: dict[str, Any] | None = None,
    betas: Iterable[str] | None = (),
    extra_headers: HeaderPairs | None = (),
    **fields: Any,
) -> Request:
    """POST /v1/messages/count_tokens; the answer is `{"input_tokens": N}`."""
    params = {
        "model": model,
        "messages": messages,
        "system": system,
        "tools": tools,
        "tool_choice": tool_choice,
        "thinking": thinking,
        **fields,
    }
    body = _message_body(params, _COUNT)
    return _request(
        config,
        "POST",
        "/v1/messages/count_tokens",
        body=_encode(body),
        betas=betas,
        extra_headers=extra_headers,
    )


def list_models(
    config: APIConfig,
    /,
    *,
    limit: int | None = None,
    after_id: str | None = None,
    before_id: str | None = None,
    betas: Iterable[str] | None = (),
    extra_headers: HeaderPairs | None = (),
) -> Request:
    """GET /v1/models: one page, newest first (`limit` 1..1000, API default 20)."""
    return _request(
        config,
        "GET",
        "/v1/models",
        query=_page_query(limit, after_id, before_id),
        betas=betas,
        extra_headers=extra_headers,
    )


def get_model(
    config: APIConfig,
    /,
    model_id: str,
    *,
    betas: Iterable[str] | None = (),
    extra_headers: HeaderPairs | None = (),
) -> Request:
    """GET /v1/models/{model_id}."""
    return _request(
        config,
        "GET",
        f"/v1/models/{_segment(model_id, 'model_id')}",
        betas=betas,
        extra_headers=extra_headers,
    )


def create_batch(
    config: APIConfig,
    /,
    requests: list[dict[str, Any]],
    *,
    betas: Iterable[str] | None = (),
    extra_headers: HeaderPairs | None = (),
) -> Request:
    """POST /v1/messages/batches with `{"requests": [{"custom_id", "params"}, ...]}`.

    Each `params` is checked as `create_message` checks its arguments, and may
    not stream; each `custom_id` must be a non-empty str, unique in the batch.
    Errors name `requests` and say where ("requests[3].params.max_tokens: ...").
    """
    if not isinstance(requests, list) or not requests:
        raise InvalidParameterError("requests", "must be a non-empty list")
    items: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(requests):
        at = f"requests[{i}]"
        custom_id = item.get("custom_id") if isinstance(item, dict) else None
        if not isinstance(item, dict):
            problem = ": must be a dict"
        elif not isinstance(custom_id, str) or not custom_id:
            problem = ".custom_id: must be a non-empty str"
        elif custom_id in seen:
            problem = f".custom_id: repeats requests[{seen[custom_id]}]'s (must be unique)"
        elif not isinstance(item.get("params"), dict):
            problem = ".params: must be a dict"
        else:
            seen[custom_id] = i
            out = {k: v for k, v in item.items() if v is not None}
            out["params"] = _message_body(item["params"], _CREATE, at=f"{at}.params")
            items.append(out)
            continue
        raise InvalidParameterError("requests", at + problem)

    def parts() -> Iterator[tuple[str, str, Any]]:
        for i, item in enumerate(items):
            for key, value in item.items():
                if key != "params":
                    yield "requests", f"requests[{i}].{key}: ", value
            for key, value in item["params"].items():
                yield "requests", f"requests[{i}].params.{key}: ", value

    return _request(
        config,
        "POST",
        "/v1/messages/batches",
        body=_encode({"requests": items}, parts),
        betas=betas,
        extra_headers=extra_headers,
    )


def _on_batch(
    config: APIConfig,
    method: str,
    batch_id: str,
    suffix: str,
    betas: Iterable[str] | None,
    extra_headers: HeaderPairs | None,
    accept: str = _JSON,
) -> Request:
    path = f"/v1/messages/batches/{_segment(batch_id, 'batch_id')}{suffix}"
    return _request(config, method, path, accept=accept, betas=betas, extra_headers=extra_headers)


def get_batch(
    config: APIConfig,
    /,
    batch_id: str,
    *,
    betas: Iterable[str] | None = (),
    extra_headers: HeaderPairs | None = (),
) -> Request:
    """GET /v1/messages/batches/{batch_id}."""
    return _on_batch(config, "GET", batch_id, "", betas, extra_headers)


def list_batches(
    config: APIConfig,
    /,
    *,
    limit: int | None = None,
    after_id: str | None = None,
    before_id: str | None = None,
    betas: Iterable[str] | None = (),
    extra_headers: HeaderPairs | None = (),
) -> Request:
    """GET /v1/messages/batches: one page, newest first (`limit` 1..1000)."""
    return _request(
        config,
        "GET",
        "/v1/messages/batches",
        query=_page_query(limit, after_id, before_id),
        betas=betas,
        extra_headers=extra_headers,
    )


def cancel_batch(
    config: APIConfig,
    /,
    batch_id: str,
    *,
    betas: Iterable[str] | None = (),
    extra_headers: HeaderPairs | None = (),
) -> Request:
    """POST /v1/messages/batches/{batch_id}/cancel: no body, so no content-type."""
    return _on_batch(config, "POST", batch_id, "/cancel", betas, extra_headers)


def delete_batch(
    config: APIConfig,
    /,
    batch_id: str,
    *,
    betas: Iterable[str] | None = (),
    extra_headers: HeaderPairs | None = (),
) -> Request:
    """DELETE /v1/messages/batches/{batch_id} (ended batches only)."""
    return _on_batch(config, "DELETE", batch_id, "", betas, extra_headers)


def batch_results(
    config: APIConfig,
    /,
    batch_id: str,
    *,
    betas: Iterable[str] | None = (),
    extra_headers: HeaderPairs | None = (),
) -> Request:
    """GET /v1/messages/batches/{batch_id}/results: JSONL, sent with `accept:
    application/binary` as the SDK does. The SDK GETs the batch's absolute
    `results_url` instead; this is that URL's documented path on our base."""
    return _on_batch(
        config, "GET", batch_id, "/results", betas, extra_headers, accept="application/binary"
    )
