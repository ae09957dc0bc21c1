"""Request builders: exact method, target, headers and body bytes per endpoint
(expectations written by hand from PROTOCOL.md §1-2), header merging, parameter
checks that name their parameter, and no secret in any error text or repr."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

import h11
import pytest
from hypothesis import given
from hypothesis import strategies as st

import wire
from wire._errors import InvalidParameterError, LocalProtocolError
from wire.builders import (
    APIConfig,
    Request,
    batch_results,
    cancel_batch,
    count_tokens,
    create_batch,
    create_message,
    delete_batch,
    get_batch,
    get_model,
    list_batches,
    list_models,
)

KEY = "sk-secret-123"
CFG = APIConfig(api_key=KEY)
HELLO = [{"role": "user", "content": "hello"}]
HELLO_JSON = b'[{"role":"user","content":"hello"}]'
VERSION = ("anthropic-version", "2023-06-01")
AUTH = ("x-api-key", KEY)
UA = ("user-agent", f"wire/{wire.__version__}")
ACCEPT = ("accept", "application/json")
CTYPE = ("content-type", "application/json")
GET_HEADERS = [VERSION, AUTH, UA, ACCEPT]
POST_HEADERS = [VERSION, AUTH, UA, ACCEPT, CTYPE]


def invalid(parameter: str, call: Callable[[], object]) -> InvalidParameterError:
    """Run `call`, expect an InvalidParameterError naming `parameter`, check no secret leaks."""
    with pytest.raises(InvalidParameterError) as info:
        call()
    exc = info.value
    assert isinstance(exc, ValueError)
    assert isinstance(exc, LocalProtocolError)
    assert exc.parameter == parameter, str(exc)
    assert KEY not in str(exc)
    assert KEY not in repr(exc)
    return exc


def create(**overrides: Any) -> Request:
    kwargs: dict[str, Any] = {"model": "claude-x", "max_tokens": 10, "messages": HELLO}
    kwargs.update(overrides)
    return create_message(CFG, **kwargs)


# --- create message --------------------------------------------------------------------


def test_create_message_exact_request() -> None:
    r = create_message(CFG, model="claude-x", max_tokens=10, messages=HELLO)
    assert r.method == "POST"
    assert r.target == "/v1/messages"
    assert list(r.headers) == POST_HEADERS
    assert r.body == b'{"model":"claude-x","max_tokens":10,"messages":' + HELLO_JSON + b"}"


def test_create_message_stream_is_in_the_body_not_in_accept() -> None:
    r = create(stream=True)
    assert r.body == (
        b'{"model":"claude-x","max_tokens":10,"messages":' + HELLO_JSON + b',"stream":true}'
    )
    assert list(r.headers) == POST_HEADERS


def test_create_message_stream_false_is_left_out() -> None:
    assert b"stream" not in create(stream=False).body


def test_create_message_named_fields_in_signature_order() -> None:
    r = create(
        service_tier="auto",
        top_k=5,
        top_p=0.5,
        temperature=0,
        metadata={"user_id": "u1"},
        stop_sequences=["END"],
        thinking={"type": "disabled"},
        tool_choice={"type": "auto"},
        tools=[{"name": "t", "input_schema": {"type": "object"}}],
        system="be brief",
        stream=True,
    )
    assert r.body == (
        b'{"model":"claude-x","max_tokens":10,"messages":' + HELLO_JSON + b","
        b'"stream":true,"system":"be brief",'
        b'"tools":[{"name":"t","input_schema":{"type":"object"}}],'
        b'"tool_choice":{"type":"auto"},"thinking":{"type":"disabled"},'
        b'"stop_sequences":["END"],"metadata":{"user_id":"u1"},'
        b'"temperature":0,"top_p":0.5,"top_k":5,"service_tier":"auto"}'
    )


def test_none_fields_are_omitted_and_unknown_fields_pass_through() -> None:
    r = create(
        system=None,
        temperature=None,
        container=None,
        output_config={"effort": "low", "format": None},
        speed="fast",
        cache_control={"type": "ephemeral"},
    )
    assert r.body == (
        b'{"model":"claude-x","max_tokens":10,"messages":' + HELLO_JSON + b","
        b'"output_config":{"effort":"low","format":null},"speed":"fast",'
        b'"cache_control":{"type":"ephemeral"}}'
    )


def test_body_is_compact_utf8_not_ascii_escaped() -> None:
    r = create(messages=[{"role": "user", "content": 'héllo ☃ "q"\n'}])
    assert r.body == (
        b'{"model":"claude-x","max_tokens":10,"messages":[{"role":"user","content":'
        + '"héllo ☃ \\"q\\"\\n"'.encode()
        + b"}]}"
    )


def test_messages_keep_unknown_keys_and_blocks() -> None:
    messages = [{"role": "user", "content": [{"type": "text", "text": "a", "new": [1]}], "x": 1}]
    assert create(messages=messages).body == (
        b'{"model":"claude-x","max_tokens":10,"messages":'
        b'[{"role":"user","content":[{"type":"text","text":"a","new":[1]}],"x":1}]}'
    )


# --- count tokens ------------------------------------------------------------------------


def test_count_tokens_exact_request() -> None:
    r = count_tokens(
        CFG, model="claude-x", messages=HELLO, system="be brief", tools=None, speed="fast"
    )
    assert (r.method, r.target) == ("POST", "/v1/messages/count_tokens")
    assert list(r.headers) == POST_HEADERS
    assert r.body == (
        b'{"model":"claude-x","messages":' + HELLO_JSON + b',"system":"be brief","speed":"fast"}'
    )


def test_count_tokens_checks_its_parameters() -> None:
    invalid("model", lambda: count_tokens(CFG, model="", messages=HELLO))
    invalid("messages", lambda: count_tokens(CFG, model="m", messages=[]))
    invalid("thinking", lambda: count_tokens(CFG, model="m", messages=HELLO, thinking="on"))  # type: ignore[arg-type]


# --- models and pagination -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "query"),
    [
        ({}, ""),
        ({"limit": 5}, "?limit=5"),
        ({"limit": 5, "after_id": "x"}, "?limit=5&after_id=x"),
        ({"after_id": "claude-haiku-4-5"}, "?after_id=claude-haiku-4-5"),
        ({"before_id": "a/b c&d=e"}, "?before_id=a%2Fb%20c%26d%3De"),
        ({"limit": 1000, "before_id": "é"}, "?limit=1000&before_id=%C3%A9"),
        ({"limit": 1, "after_id": None}, "?limit=1"),
    ],
)
@pytest.mark.parametrize(
    ("builder", "path"), [(list_models, "/v1/models"), (list_batches, "/v1/messages/batches")]
)
def test_list_pages(builder: Any, path: str, kwargs: dict[str, Any], query: str) -> None:
    r = builder(CFG, **kwargs)
    assert (r.method, r.target, r.body) == ("GET", path + query, b"")
    assert list(r.headers) == GET_HEADERS


@pytest.mark.parametrize("builder", [list_models, list_batches])
@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": True}, "limit"),
        ({"limit": "5"}, "limit"),
        ({"limit": 5.0}, "limit"),
        ({"after_id": ""}, "after_id"),
        ({"after_id": 7}, "after_id"),
        ({"before_id": ""}, "before_id"),
        ({"before_id": "\ud800"}, "before_id"),
        # Documented choice: the API takes after_id or before_id, never both.
        ({"after_id": "a", "before_id": "b"}, "before_id"),
    ],
)
def test_list_pages_refuse_bad_pagination(
    builder: Any, kwargs: dict[str, Any], parameter: str
) -> None:
    invalid(parameter, lambda: builder(CFG, **kwargs))


def test_get_model_exact_request() -> None:
    r = get_model(CFG, "claude-opus-4-6")
    assert (r.method, r.target, r.body) == ("GET", "/v1/models/claude-opus-4-6", b"")
    assert list(r.headers) == GET_HEADERS


# --- batches -----------------------------------------------------------------------------


def test_create_batch_exact_request() -> None:
    params = {"model": "claude-x", "max_tokens": 10, "messages": HELLO}
    r = create_batch(
        CFG,
        [
            {"custom_id": "req-1", "params": params},
            {"params": {**params, "system": "s", "stream": False}, "custom_id": "req-2"},
        ],
    )
    assert (r.method, r.target) == ("POST", "/v1/messages/batches")
    assert list(r.headers) == POST_HEADERS
    one = b'{"model":"claude-x","max_tokens":10,"messages":' + HELLO_JSON
    assert r.body == (
        b'{"requests":[{"custom_id":"req-1","params":' + one + b"}},"
        b'{"params":' + one + b',"system":"s"},"custom_id":"req-2"}]}'
    )


def test_create_batch_puts_required_params_first_and_passes_unknown_through() -> None:
    params = {"messages": HELLO, "future": {"a": 1}, "max_tokens": 3, "model": "m", "top_k": None}
    r = create_batch(CFG, [{"custom_id": "a", "params": params, "note": "x"}])
    assert r.body == (
        b'{"requests":[{"custom_id":"a","params":{"model":"m","max_tokens":3,"messages":'
        + HELLO_JSON
        + b',"future":{"a":1}},"note":"x"}]}'
    )


P = {"model": "m", "max_tokens": 1, "messages": HELLO}


@pytest.mark.parametrize(
    ("requests", "where"),
    [
        ([], "requests: must be a non-empty list"),
        ("x", "requests: must be a non-empty list"),
        ([5], "requests[0]: must be a dict"),
        ([{"params": P}], "requests[0].custom_id"),
        ([{"custom_id": "", "params": P}], "requests[0].custom_id"),
        ([{"custom_id": 5, "params": P}], "requests[0].custom_id"),
        (
            [{"custom_id": "a", "params": P}, {"custom_id": "a", "params": P}],
            "requests[1].custom_id: repeats requests[0]",
        ),
        ([{"custom_id": "a"}], "requests[0].params: must be a dict"),
        (
            [{"custom_id": "a", "params": {"model": "m", "messages": HELLO}}],
            "requests[0].params.max_tokens: is required",
        ),
        ([{"custom_id": "a", "params": {**P, "max_tokens": 0}}], "requests[0].params.max_tokens"),
        (
            [{"custom_id": "a", "params": P}, {"custom_id": "b", "params": {**P, "model": ""}}],
            "requests[1].params.model",
        ),
        (
            [{"custom_id": "a", "params": {**P, "messages": [{"role": "system", "content": "x"}]}}],
            "requests[0].params.messages: item 0: 'role'",
        ),
        (
            [{"custom_id": "a", "params": {**P, "stream": True}}],
            "requests[0].params.stream: is not allowed",
        ),
        (
            [{"custom_id": "a", "params": {**P, "metadata": {"x": {1}}}}],
            "requests[0].params.metadata: is not JSON-serialisable",
        ),
        (
            [{"custom_id": "a", "params": P, "tag": float("nan")}],
            "requests[0].tag: is not JSON-serialisable",
        ),
    ],
)
def test_create_batch_errors_name_requests_and_say_where(requests: Any, where: str) -> None:
    exc = invalid("requests", lambda: create_batch(CFG, requests))
    assert where in str(exc)


@pytest.mark.parametrize(
    ("builder", "method", "suffix", "accept"),
    [
        (get_batch, "GET", "", "application/json"),
        (cancel_batch, "POST", "/cancel", "application/json"),
        (delete_batch, "DELETE", "", "application/json"),
        (batch_results, "GET", "/results", "application/binary"),
    ],
)
def test_batch_id_endpoints_exact(builder: Any, method: str, suffix: str, accept: str) -> None:
    r = builder(CFG, "msgbatch_013Zva2CMHLNnXjNJJKqJ2EF")
    assert r.method == method
    assert r.target == "/v1/messages/batches/msgbatch_013Zva2CMHLNnXjNJJKqJ2EF" + suffix
    assert list(r.headers) == [VERSION, AUTH, UA, ("accept", accept)]  # no body: no content-type
    assert r.body == b""


# --- ids -----------------------------------------------------------------------------------

ID_BUILDERS = [
    (get_model, "/v1/models/", "", "model_id"),
    (get_batch, "/v1/messages/batches/", "", "batch_id"),
    (cancel_batch, "/v1/messages/batches/", "/cancel", "batch_id"),
    (delete_batch, "/v1/messages/batches/", "", "batch_id"),
    (batch_results, "/v1/messages/batches/", "/results", "batch_id"),
]


@pytest.mark.parametrize(("builder", "prefix", "suffix", "parameter"), ID_BUILDERS)
@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("a/b", "a%2Fb"),
        ("../x", "..%2Fx"),
        ("...", "..."),
        ("a b?c#d%", "a%20b%3Fc%23d%25"),
        ("é", "%C3%A9"),
        ("x~y_z-1.2", "x~y_z-1.2"),
    ],
)
def test_ids_are_one_percent_encoded_segment(
    builder: Any,
    prefix: str,
    suffix: str,
    parameter: str,
    raw: str,
    encoded: str,
) -> None:
    assert builder(CFG, raw).target == prefix + encoded + suffix


@pytest.mark.parametrize(("builder", "prefix", "suffix", "parameter"), ID_BUILDERS)
@pytest.mark.parametrize("bad", ["", ".", "..", None, 5, b"id", "\ud800"])
def test_bad_ids_are_refused(
    builder: Any, prefix: str, suffix: str, parameter: str, bad: Any
) -> None:
    invalid(parameter, lambda: builder(CFG, bad))


# --- config, auth, headers -------------------------------------------------------------


def test_auth_token_is_sent_as_bearer() -> None:
    r = create_message(APIConfig(auth_token="tok-1"), model="m", max_tokens=1, messages=HELLO)
    assert list(r.headers) == [VERSION, ("authorization", "Bearer tok-1"), UA, ACCEPT, CTYPE]


def test_api_key_wins_over_auth_token_and_empty_means_unset() -> None:
    both = list_models(APIConfig(api_key=KEY, auth_token="tok"))
    assert list(both.headers) == GET_HEADERS
    empty_key = list_models(APIConfig(api_key="", auth_token="tok"))
    assert empty_key.header("authorization") == "Bearer tok"
    assert empty_key.header("x-api-key") is None


@pytest.mark.parametrize("kwargs", [{}, {"api_key": None}, {"api_key": "", "auth_token": ""}])
def test_no_credentials_is_a_clear_error(kwargs: dict[str, Any]) -> None:
    exc = invalid("api_key", lambda: APIConfig(**kwargs))
    assert "auth_token" in str(exc)


def test_anthropic_version_is_configurable_and_checked() -> None:
    r = list_models(APIConfig(api_key=KEY, anthropic_version="2026-10-21"))
    assert r.headers[0] == ("anthropic-version", "2026-10-21")
    for bad in ("", 5, "2023-06-01\r\nx: y"):
        invalid(
            "anthropic_version",
            lambda bad=bad: APIConfig(api_key=KEY, anthropic_version=bad),  # type: ignore[misc]
        )


def test_betas_merge_in_order_without_duplicates() -> None:
    config = APIConfig(api_key=KEY, betas=("b1", "b2"))
    r = create_message(config, model="m", max_tokens=1, messages=HELLO, betas=["b3", "b1"])
    assert list(r.headers) == [VERSION, AUTH, UA, ACCEPT, ("anthropic-beta", "b1,b2,b3"), CTYPE]
    assert list_models(CFG, betas=("only",)).header("anthropic-beta") == "only"
    assert list_models(config).header("anthropic-beta") == "b1,b2"


@pytest.mark.parametrize("bad", ["b1", ("a b",), ("a,b",), ("",), (5,), ("b\r\n",)])
def test_bad_betas_are_refused(bad: Any) -> None:
    invalid("betas", lambda: APIConfig(api_key=KEY, betas=bad))
    invalid("betas", lambda: list_models(CFG, betas=bad))


def test_default_then_extra_headers_later_wins_in_place() -> None:
    config = APIConfig(api_key=KEY, default_headers=(("X-Team", "a"), ("User-Agent", "mine/1")))
    r = create_message(
        config,
        model="m",
        max_tokens=1,
        messages=HELLO,
        extra_headers={"x-team": "b", "anthropic-workspace-id": "w"},
    )
    assert list(r.headers) == [
        VERSION,
        AUTH,
        ("User-Agent", "mine/1"),
        ACCEPT,
        CTYPE,
        ("x-team", "b"),
        ("anthropic-workspace-id", "w"),
    ]
    r = get_batch(config, "b", extra_headers=[("Accept", "text/plain"), ("X-Team", "c")])
    assert list(r.headers) == [
        VERSION,
        AUTH,
        ("User-Agent", "mine/1"),
        ("Accept", "text/plain"),
        ("X-Team", "c"),
    ]


def test_default_headers_accept_a_mapping() -> None:
    config = APIConfig(api_key=KEY, default_headers={"x-a": "1"})  # type: ignore[arg-type]
    assert config.default_headers == (("x-a", "1"),)


@pytest.mark.parametrize(
    "name", ["host", "Content-Length", "transfer-encoding", "Connection", "accept-encoding"]
)
def test_connection_headers_are_refused(name: str) -> None:
    invalid("default_headers", lambda: APIConfig(api_key=KEY, default_headers=((name, "x"),)))
    invalid("extra_headers", lambda: list_models(CFG, extra_headers={name: "x"}))


BAD_VALUES = [
    KEY + "\r\nx-evil: 1",
    KEY + "\n",
    KEY + "\r",
    KEY + "\0",
    " " + KEY,
    KEY + "\t",
    KEY + "é",
    KEY + "\x01",
    KEY + "\x7f",
]


@pytest.mark.parametrize("value", BAD_VALUES)
def test_bad_header_values_are_refused_without_echo(value: str) -> None:
    exc = invalid("api_key", lambda: APIConfig(api_key=value))
    assert "'x-api-key'" in str(exc)
    invalid("auth_token", lambda: APIConfig(auth_token=value))
    exc = invalid(
        "default_headers",
        lambda: APIConfig(api_key=KEY, default_headers=(("authorization", value),)),
    )
    assert "'authorization'" in str(exc)
    invalid("extra_headers", lambda: list_models(CFG, extra_headers=[("x-custom", value)]))


def test_cr_lf_nul_are_named_as_such() -> None:
    for value in ("a\rb", "a\nb", "a\0b"):
        exc = invalid(
            "extra_headers",
            lambda v=value: list_models(CFG, extra_headers={"x": v}),  # type: ignore[misc]
        )
        assert "CR, LF or NUL" in str(exc)


@pytest.mark.parametrize(
    "headers",
    [
        "x-a: 1",
        [("x-a",)],
        [("x-a", "1", "2")],
        [("", "1")],
        [("a b", "1")],
        [("a:b", "1")],
        [("é", "1")],
        [(5, "1")],
        [("x-a", 1)],
        [("x-a", None)],
    ],
)
def test_bad_header_shapes_and_names_are_refused(headers: Any) -> None:
    invalid("extra_headers", lambda: list_models(CFG, extra_headers=headers))
    invalid("default_headers", lambda: APIConfig(api_key=KEY, default_headers=headers))


def test_api_key_type_is_checked() -> None:
    invalid("api_key", lambda: APIConfig(api_key=123))  # type: ignore[arg-type]
    invalid("auth_token", lambda: APIConfig(auth_token=b"x"))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("base_path", "target"),
    [
        ("", "/v1/models"),
        ("/", "/v1/models"),
        ("/pfx", "/pfx/v1/models"),
        ("/pfx/", "/pfx/v1/models"),
        ("/a/b%20c//", "/a/b%20c/v1/models"),
    ],
)
def test_base_path_prefixes_every_target(base_path: str, target: str) -> None:
    config = APIConfig(api_key=KEY, base_path=base_path)
    assert list_models(config).target == target
    assert get_batch(config, "b").target == target.replace("/v1/models", "/v1/messages/batches/b")


@pytest.mark.parametrize("bad", ["pfx", "/p?q=1", "/p#f", "/p q", "/é", "http://h/pfx", 5])
def test_bad_base_path_is_refused(bad: Any) -> None:
    invalid("base_path", lambda: APIConfig(api_key=KEY, base_path=bad))


def test_no_secret_in_any_repr() -> None:
    secret_headers = (
        ("Authorization", "Bearer " + KEY),
        ("proxy-authorization", KEY),
        ("x-visible", "shown"),
    )
    for config in (
        APIConfig(api_key=KEY, default_headers=secret_headers),
        APIConfig(auth_token=KEY),
    ):
        assert KEY not in repr(config)
        assert KEY not in str(config)
        assert "<redacted>" in repr(config)
        for r in (
            create_message(config, model="m", max_tokens=1, messages=HELLO),
            list_models(config, extra_headers={"X-Api-Key": KEY}),
            cancel_batch(config, "b"),
        ):
            assert KEY not in repr(r)
            assert KEY not in str(r)
            assert any(KEY in value for _, value in r.headers)  # still sent, only hidden
    assert "shown" in repr(APIConfig(api_key=KEY, default_headers=secret_headers))
    r = create(messages=[{"role": "user", "content": "private prompt"}])
    assert "private prompt" not in repr(r)
    assert f"body=<{len(r.body)} bytes>" in repr(r)


def test_config_equality_ignores_nothing_secret_but_the_cache() -> None:
    assert APIConfig(api_key=KEY) == APIConfig(api_key=KEY)
    assert APIConfig(api_key=KEY) != APIConfig(api_key=KEY + "x")


def test_request_header_lookup_is_case_insensitive() -> None:
    r = create()
    assert r.header("X-API-KEY") == KEY
    assert r.header("Content-Type") == "application/json"
    assert r.header("content-length") is None


# --- parameter checks for create_message -------------------------------------------------

_circular: dict[str, Any] = {}
_circular["self"] = _circular


@pytest.mark.parametrize(
    ("overrides", "parameter"),
    [
        ({"model": ""}, "model"),
        ({"model": None}, "model"),
        ({"model": 5}, "model"),
        ({"max_tokens": 0}, "max_tokens"),  # issue 3: < 1 is invalid (SDK allows 0: see module)
        ({"max_tokens": -1}, "max_tokens"),
        ({"max_tokens": True}, "max_tokens"),
        ({"max_tokens": 1.5}, "max_tokens"),
        ({"max_tokens": "10"}, "max_tokens"),
        ({"max_tokens": None}, "max_tokens"),
        ({"messages": []}, "messages"),
        ({"messages": "hello"}, "messages"),
        ({"messages": ({"role": "user", "content": "x"},)}, "messages"),
        ({"messages": [["user", "x"]]}, "messages"),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages"),
        ({"messages": [{"content": "x"}]}, "messages"),
        ({"messages": [{"role": "user"}]}, "messages"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages"),
        ({"messages": [*HELLO, {"role": "assistant", "content": None}]}, "messages"),
        ({"temperature": -0.1}, "temperature"),
        ({"temperature": 1.01}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"temperature": float("inf")}, "temperature"),
        ({"temperature": True}, "temperature"),
        ({"temperature": "0.5"}, "temperature"),
        ({"top_p": 2}, "top_p"),
        ({"top_p": -1e-9}, "top_p"),
        ({"top_k": -1}, "top_k"),
        ({"top_k": 1.5}, "top_k"),
        ({"top_k": False}, "top_k"),
        ({"stop_sequences": "END"}, "stop_sequences"),
        ({"stop_sequences": ["a", 1]}, "stop_sequences"),
        ({"stop_sequences": ("a",)}, "stop_sequences"),
        ({"system": 5}, "system"),
        ({"tools": {"name": "t"}}, "tools"),
        ({"tool_choice": "auto"}, "tool_choice"),
        ({"thinking": "enabled"}, "thinking"),
        ({"metadata": ["u"]}, "metadata"),
        ({"service_tier": 1}, "service_tier"),
        ({"stream": "yes"}, "stream"),
        ({"stream": 1}, "stream"),
        # not JSON-serialisable: named after the top-level parameter they sit under
        ({"metadata": {"user_id": {1, 2}}}, "metadata"),
        (
            {"messages": [{"role": "user", "content": [{"type": "x", "n": float("nan")}]}]},
            "messages",
        ),
        ({"messages": [{"role": "user", "content": "lone \ud800 surrogate"}]}, "messages"),
        ({"tools": [_circular]}, "tools"),
        ({"custom": object()}, "custom"),
        ({"big": float("inf")}, "big"),
        ({"raw": b"bytes"}, "raw"),
    ],
)
def test_create_message_checks_name_the_parameter(
    overrides: dict[str, Any], parameter: str
) -> None:
    invalid(parameter, lambda: create(**overrides))


@pytest.mark.parametrize(
    "overrides",
    [
        {"temperature": 0},
        {"temperature": 1},
        {"temperature": 0.7},
        {"top_p": 1.0},
        {"top_k": 0},
        {"max_tokens": 1},
        {"stop_sequences": []},
        {"system": [{"type": "text", "text": "s"}]},
        {"messages": [{"role": "assistant", "content": []}]},
    ],
)
def test_boundary_values_are_accepted(overrides: dict[str, Any]) -> None:
    assert create(**overrides).body


def test_config_may_be_passed_positionally_only() -> None:
    r = create_message(CFG, model="m", max_tokens=1, messages=HELLO, config="field")
    assert r.body.endswith(b',"config":"field"}')


# --- the headers suit h11, and the core stays sans-IO -------------------------------------


def all_requests(config: APIConfig) -> list[Request]:
    return [
        create_message(config, model="m", max_tokens=1, messages=HELLO, stream=True),
        count_tokens(config, model="m", messages=HELLO),
        list_models(config, limit=2),
        get_model(config, "m"),
        create_batch(config, [{"custom_id": "a", "params": P}]),
        get_batch(config, "b"),
        list_batches(config, after_id="x"),
        cancel_batch(config, "b"),
        delete_batch(config, "b"),
        batch_results(config, "b"),
    ]


@pytest.mark.parametrize(
    "config",
    [
        CFG,
        APIConfig(auth_token="t", betas=("x",), base_path="/p", default_headers=(("X-A", "a b"),)),
    ],
)
def test_requests_are_accepted_by_h11_and_leave_framing_to_the_connection(
    config: APIConfig,
) -> None:
    for r in all_requests(config):
        names = {name.lower() for name, _ in r.headers}
        assert not names & {"host", "content-length", "transfer-encoding", "connection"}
        assert (r.header("content-type") is not None) == bool(r.body)
        headers = [*r.headers, ("host", "api.anthropic.com"), ("content-length", str(len(r.body)))]
        conn = h11.Connection(h11.CLIENT)
        data = conn.send(h11.Request(method=r.method, target=r.target, headers=headers))
        assert data is not None
        assert data.startswith(f"{r.method} {r.target} HTTP/1.1\r\n".encode())


@given(st.text(max_size=12))
def test_header_values_accepted_here_are_accepted_by_h11(value: str) -> None:
    if set(value) & {"\r", "\n", "\0"}:
        invalid("extra_headers", lambda: list_models(CFG, extra_headers={"x-v": value}))
        return
    try:
        r = list_models(CFG, extra_headers={"x-v": value})
    except InvalidParameterError:
        return  # edge whitespace, a control or non-ASCII: stricter than h11, never looser
    h11.Request(method="GET", target="/", headers=[*r.headers, ("host", "h")])


# --- properties ----------------------------------------------------------------------------

_text = st.text(max_size=12)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)
_block = st.fixed_dictionaries(
    {"type": st.just("text"), "text": _text},
    optional={"cache_control": st.just({"type": "ephemeral"}), "future": _json},
)
_message = st.fixed_dictionaries(
    {
        "role": st.sampled_from(["user", "assistant"]),
        "content": _text | st.lists(_block, max_size=3),
    }
)
_named = set(inspect.signature(create_message).parameters)
_field_names = st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True).filter(lambda k: k not in _named)


@given(
    messages=st.lists(_message, min_size=1, max_size=4),
    model=st.text(min_size=1, max_size=8),
    max_tokens=st.integers(1, 10**6),
)
def test_create_message_body_round_trips(messages: list[Any], model: str, max_tokens: int) -> None:
    r = create_message(CFG, model=model, max_tokens=max_tokens, messages=messages)
    loaded = json.loads(r.body.decode("utf-8"))
    assert loaded == {"model": model, "max_tokens": max_tokens, "messages": messages}
    assert list(loaded) == ["model", "max_tokens", "messages"]


@given(
    messages=st.lists(_message, min_size=1, max_size=2),
    fields=st.dictionaries(_field_names, _json, max_size=4),
)
def test_unknown_fields_round_trip_in_order_without_nulls(
    messages: list[Any], fields: dict[str, Any]
) -> None:
    r = create_message(CFG, model="m", max_tokens=1, messages=messages, **fields)
    kept = {k: v for k, v in fields.items() if v is not None}
    loaded = json.loads(r.body)
    assert loaded == {"model": "m", "max_tokens": 1, "messages": messages, **kept}
    assert list(loaded) == ["model", "max_tokens", "messages", *kept]


# --- issue 12 item 9: None means none; any other wrong type is a named parameter error -----


def test_none_betas_and_default_headers_mean_none() -> None:
    config = APIConfig(api_key=KEY, betas=None, default_headers=None)  # type: ignore[arg-type]
    assert config.betas == ()
    assert config.default_headers == ()
    request = create_message(
        config, model="m", max_tokens=1, messages=HELLO, betas=None, extra_headers=None
    )
    assert request.header("anthropic-beta") is None
    assert request == create_message(CFG, model="m", max_tokens=1, messages=HELLO)


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"betas": 5}, "betas"),
        ({"betas": [5]}, "betas"),
        ({"betas": b"x"}, "betas"),
        ({"default_headers": 5}, "default_headers"),
        ({"default_headers": object()}, "default_headers"),
        ({"default_headers": [("x-a", "\u00e9")]}, "default_headers"),
        ({"default_headers": [("x-a", "\ud800")]}, "default_headers"),
        ({"default_headers": {"x-a": b"1"}}, "default_headers"),
        ({"anthropic_version": None}, "anthropic_version"),
        ({"anthropic_version": "\udc80"}, "anthropic_version"),
        ({"base_path": 5}, "base_path"),
        ({"api_key": "sk-\ud800"}, "api_key"),
        ({"api_key": b"sk"}, "api_key"),
    ],
)
def test_api_config_wrong_types_name_the_field(kwargs: dict[str, Any], parameter: str) -> None:
    kwargs.setdefault("api_key", KEY)
    with pytest.raises(InvalidParameterError) as caught:
        APIConfig(**kwargs)
    assert caught.value.parameter == parameter


def test_builders_refuse_a_config_that_is_not_one() -> None:
    with pytest.raises(InvalidParameterError) as caught:
        get_model({"api_key": KEY}, "m")  # type: ignore[arg-type]
    assert caught.value.parameter == "config"


hostile_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=6),
    st.sampled_from([b"", b"x", b"\xff", "\ud800", "a\r\nb", "\x00", "é", object()]),
)
hostile = st.recursive(
    hostile_leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.dictionaries(st.one_of(st.text(max_size=4), st.integers()), inner, max_size=3),
    ),
    max_leaves=8,
)
CONFIG_FIELDS = ("api_key", "auth_token", "anthropic_version", "betas", "default_headers")


@given(st.dictionaries(st.sampled_from([*CONFIG_FIELDS, "base_path"]), hostile, max_size=3))
def test_api_config_lets_only_parameter_errors_escape(kwargs: dict[str, Any]) -> None:
    kwargs.setdefault("api_key", KEY)
    exc = refusal(lambda: APIConfig(**kwargs))
    if exc is not None:
        assert exc.parameter in (*CONFIG_FIELDS, "base_path")
        assert KEY not in str(exc)
    else:
        assert KEY not in repr(APIConfig(**kwargs))


def refusal(call: Callable[[], object]) -> InvalidParameterError | None:
    """The `InvalidParameterError` `call` raises, or None; any other exception fails the test."""
    try:
        call()
    except InvalidParameterError as exc:
        return exc
    return None


def _call(builder: Callable[..., Request], kwargs: dict[str, Any]) -> None:
    exc = refusal(lambda: builder(CFG, **kwargs))
    if exc is not None:
        assert exc.parameter in {*kwargs, "requests", "body"}, exc.parameter
        assert KEY not in str(exc)


MESSAGE_PARAMS = ("model", "max_tokens", "messages", "system", "tools", "tool_choice", "top_k")
COMMON = ("betas", "extra_headers")


@given(
    st.sampled_from([create_message, count_tokens]),
    st.dictionaries(st.sampled_from([*MESSAGE_PARAMS, *COMMON, "temperature", "x"]), hostile),
)
def test_message_builders_let_only_parameter_errors_escape(
    builder: Callable[..., Request], overrides: dict[str, Any]
) -> None:
    kwargs: dict[str, Any] = {"model": "m", "max_tokens": 1, "messages": HELLO}
    if builder is count_tokens:
        del kwargs["max_tokens"]
    _call(builder, {**kwargs, **overrides})


@given(
    st.sampled_from([get_model, get_batch, cancel_batch, delete_batch, batch_results]),
    hostile,
    st.dictionaries(st.sampled_from(COMMON), hostile),
)
def test_id_builders_let_only_parameter_errors_escape(
    builder: Callable[..., Request], ident: Any, overrides: dict[str, Any]
) -> None:
    exc = refusal(lambda: builder(CFG, ident, **overrides))
    assert exc is None or KEY not in str(exc)


@given(
    st.sampled_from([list_models, list_batches]),
    st.dictionaries(st.sampled_from(["limit", "after_id", "before_id", *COMMON]), hostile),
)
def test_page_builders_let_only_parameter_errors_escape(
    builder: Callable[..., Request], kwargs: dict[str, Any]
) -> None:
    _call(builder, kwargs)


@given(
    st.one_of(hostile, st.lists(st.dictionaries(st.sampled_from(["custom_id", "params"]), hostile)))
)
def test_create_batch_lets_only_parameter_errors_escape(requests: Any) -> None:
    _call(create_batch, {"requests": requests})
