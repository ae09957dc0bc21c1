"""Request validation for the emulator, as the API validates: schemas as data, then rules.

Three parts, each data first:

- `MODELS`: one `ModelFacts` per model (ids and aliases, output-token limit, prefill,
  thinking modes, sampling rules). Validation, replies (the resolved model id) and
  `GET /v1/models` all read it.
- Schemas: each endpoint's body as nested `Obj`/`ListOf`/`Tagged`/... values, checked
  by one interpreter (`_check`). Unknown fields are refused, as the API refuses them;
  the blocks and tools the emulator does not model in detail (server-tool results,
  Anthropic-defined tools) are "open": their `type` is checked, their fields are not.
- Rules that span fields (`_RULES`): model limits, sampling under each
  `anthropic-version`, thinking budget, prefill, non-empty content, tool_use /
  tool_result pairing, image data.

The first failure is raised as `RequestRejected` with the API's status, `error.type`
and (where publicly known) wording, always starting with the path of the field it is
about (`messages.1.content.0.text: ...`). docs/emulator.md lists every rule and its
source. Time is linear in the body: each JSON value is looked at a bounded number of
times, and the schemas are not recursive, so the interpreter's depth is bounded too.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from wire._errors import WireError

__all__ = [
    "BETAS",
    "MAX_BATCH_REQUESTS",
    "MODELS",
    "ModelFacts",
    "RequestRejected",
    "check_batch",
    "check_betas",
    "check_count_tokens",
    "check_create",
    "find_model",
]

JSON = Any
Path = tuple[str | int, ...]


class RequestRejected(WireError):
    """A request the API would refuse: `status`, `error_type` and the envelope's `message`."""

    def __init__(self, status: int, message: str, error_type: str = "invalid_request_error"):
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


def _fail(path: Path, text: str) -> RequestRejected:
    where = ".".join(str(p) for p in path)
    return RequestRejected(400, f"{where}: {text}" if where else text)


# --- per-model facts ------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelFacts:
    """What the API knows about one model, as the emulator uses it."""

    id: str
    display_name: str
    created_at: str
    aliases: tuple[str, ...]
    max_tokens: int  # the output-token limit (`max_tokens` above it is a 400)
    max_input_tokens: int
    prefill: bool  # whether a final assistant turn (a prefill) is accepted
    thinking: frozenset[str]  # the `thinking.type` values accepted
    # Whether `temperature` and `top_p` exclude each other (under 2023-06-01).
    exclusive_sampling: bool

    def to_json(self) -> dict[str, Any]:
        """The model object of `GET /v1/models`."""
        return {
            "type": "model",
            "id": self.id,
            "display_name": self.display_name,
            "created_at": self.created_at,
            "max_input_tokens": self.max_input_tokens,
            "max_tokens": self.max_tokens,
        }


_CLASSIC = frozenset({"enabled", "disabled"})
_ADAPTIVE = frozenset({"enabled", "disabled", "adaptive", "between_tools"})

# Newest first, as `GET /v1/models` lists them. Sources: docs (models overview,
# "What's new in Claude 4.6", extended and adaptive thinking); see docs/emulator.md.
MODELS: tuple[ModelFacts, ...] = (
    ModelFacts(
        "claude-opus-4-6", "Claude Opus 4.6", "2026-02-04T00:00:00Z", (),
        128_000, 200_000, False, _ADAPTIVE, True,
    ),
    ModelFacts(
        "claude-sonnet-4-6", "Claude Sonnet 4.6", "2026-02-04T00:00:00Z", (),
        64_000, 200_000, False, _ADAPTIVE, True,
    ),
    ModelFacts(
        "claude-opus-4-5-20251101", "Claude Opus 4.5", "2025-11-24T00:00:00Z",
        ("claude-opus-4-5",), 64_000, 200_000, True, _CLASSIC, True,
    ),
    ModelFacts(
        "claude-haiku-4-5-20251001", "Claude Haiku 4.5", "2025-10-15T00:00:00Z",
        ("claude-haiku-4-5",), 64_000, 200_000, True, _CLASSIC, True,
    ),
    ModelFacts(
        "claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z",
        ("claude-sonnet-4-5",), 64_000, 200_000, True, _CLASSIC, True,
    ),
    ModelFacts(
        "claude-opus-4-1-20250805", "Claude Opus 4.1", "2025-08-05T00:00:00Z",
        ("claude-opus-4-1",), 32_000, 200_000, True, _CLASSIC, False,
    ),
)  # fmt: skip


def _display_name(model_id: str) -> str:
    """`claude-opus-4-8` -> `Claude Opus 4.8`."""
    parts = model_id.split("-")[1:]
    words = " ".join(part.capitalize() for part in parts if not part.isdigit())
    version = ".".join(part for part in parts if part.isdigit())
    return f"Claude {words} {version}".rstrip()


# Ids that SDK 2.14.0's `Model` type names and the table above does not describe: the
# API serves them, but their limits are not confirmed here. They are accepted with every
# feature (the lenient direction: a client's test must never fail on a model the real API
# serves) and found by `GET /v1/models/{id}`, but not listed by `GET /v1/models`.
SDK_ONLY_MODELS: tuple[ModelFacts, ...] = tuple(
    ModelFacts(
        name,
        _display_name(name),
        "2026-01-01T00:00:00Z", (), 128_000, 1_000_000, True, _ADAPTIVE, False,
    )
    for name in (
        "claude-fable-5-2", "claude-mythos-5-2", "claude-haiku-5-5", "claude-sonnet-5-5",
        "claude-fable-5-1", "claude-opus-5-5", "claude-mythos-5-1", "claude-sonnet-5",
        "claude-fable-5", "claude-mythos-5", "claude-opus-5", "claude-opus-4-8",
        "claude-opus-4-7", "claude-mythos-preview",
    )
)  # fmt: skip

_BY_NAME: dict[str, ModelFacts] = {
    name: facts for facts in (*MODELS, *SDK_ONLY_MODELS) for name in (facts.id, *facts.aliases)
}


def find_model(name: object) -> ModelFacts | None:
    """The model an id or alias names, or None."""
    return _BY_NAME.get(name) if isinstance(name, str) else None


# The `anthropic-beta` values the API knows (those SDK 2.14.0 names); others are a 400.
BETAS = frozenset(
    """computer-use-2024-10-22 computer-use-2025-01-24 computer-use-2025-11-24
    output-128k-2025-02-19 output-300k-2026-03-24 mcp-client-2025-04-04 mcp-client-2025-11-20
    mcp-client-2026-09-15 mcp-tunnels-2026-06-22 dev-full-thinking-2025-05-14
    interleaved-thinking-2025-05-14 code-execution-2025-05-22 context-1m-2025-08-07
    context-management-2025-06-27 model-context-window-exceeded-2025-08-26 fast-mode-2026-02-01
    user-profiles-2026-03-24 user-profiles-2026-08-18 user-profiles-2026-09-04
    user-profiles-billing-2026-10-01 advisor-tool-2026-03-01 managed-agents-2026-04-01
    dreaming-2026-04-21 thinking-token-count-2026-05-13 server-side-fallback-2026-06-01
    server-side-fallback-2026-07-01 fallback-credit-2026-06-01 fallback-credit-2026-07-01
    agent-memory-2026-07-22 mid-conversation-tool-changes-2026-07-01 compact-2026-01-12
    compact-2026-09-04 structured-outputs-2025-11-13 task-budgets-2026-03-13
    thinking-display-updates-2026-08-18 mid-conversation-output-config-2026-07-01
    thinking-binding-controls-2026-08-01 mid-conversation-system-clear-at-2026-08-21
    inline-tools-2026-09-15 ce-plugins-2026-09-01 spend-limit-reads-2026-09-26
    telemetry-destinations-2026-08-11 webhooks-2026-10-07 admin-user-sign-out-2026-10-08
    message-threads-2026-08-12 analytics-usage-cost-2026-08-24
    experimental-claude-tag-2026-10-21 message-batches-2024-09-24 prompt-caching-2024-07-31
    pdfs-2024-09-25 token-counting-2024-11-01 token-efficient-tools-2025-02-19
    files-api-2025-04-14 extended-cache-ttl-2025-04-11 skills-2025-10-02
    cache-diagnosis-2026-04-07 ce-user-management-2026-07-13
    ce-claude-code-managed-settings-2026-10-06 efs-2026-10-01
    google-managed-data-controls-2026-09-01""".split()  # noqa: SIM905 - a list of names
)

MAX_BATCH_REQUESTS = 100_000
_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_TOOL_USE_ID = re.compile(r"^[a-zA-Z0-9_-]+$")


# --- the schema language ----------------------------------------------------------------------


class Spec:
    """A schema node; `_check` interprets it."""


@dataclass(frozen=True)
class Anything(Spec):
    """Any JSON value (free-form data: tool input, JSON schemas, open objects' fields)."""


@dataclass(frozen=True)
class Str(Spec):
    min_length: int = 0
    max_length: int | None = None
    pattern: re.Pattern[str] | None = None
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Int(Spec):
    ge: int | None = None
    le: int | None = None


@dataclass(frozen=True)
class Num(Spec):
    ge: float | None = None
    le: float | None = None


@dataclass(frozen=True)
class Bool(Spec):
    pass


@dataclass(frozen=True)
class F:
    """A field of an `Obj`: its spec, whether it is required, whether null is accepted."""

    spec: Spec
    required: bool = False
    nullable: bool = False


@dataclass(frozen=True)
class Obj(Spec):
    """A JSON object with these fields; `open`: other fields are accepted unchecked."""

    fields: Mapping[str, F] = field(default_factory=dict)
    open: bool = False


@dataclass(frozen=True)
class ListOf(Spec):
    item: Spec
    min_items: int = 0
    max_items: int | None = None


@dataclass(frozen=True)
class StrOrList(Spec):
    """A string or a list (content: "text" or [blocks])."""

    string: Str
    array: ListOf


@dataclass(frozen=True)
class Tagged(Spec):
    """An object chosen by its `type` (the tag joins the path, as the API's paths show it).

    `families`: tag prefixes for versioned types (`web_search_20250305` → `web_search_`);
    `default`: the variant when `type` is absent (custom tools).
    """

    variants: Mapping[str, Obj]
    families: Mapping[str, Obj] = field(default_factory=dict)
    default: str | None = None


@dataclass(frozen=True)
class Checked(Spec):
    """`spec`, then a check of the valid value (e.g. image bytes against the media type)."""

    spec: Spec
    check: Callable[[Any, Path], None]


def _choices(values: tuple[str, ...]) -> str:
    quoted = [f"'{v}'" for v in values]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check(spec: Spec, value: JSON, path: Path) -> None:  # noqa: C901 - one branch per kind
    """Raise `RequestRejected` for the first place `value` breaks `spec`."""
    if isinstance(spec, Anything):
        return
    if isinstance(spec, Str):
        if not isinstance(value, str):
            raise _fail(path, "Input should be a valid string")
        if spec.choices and value not in spec.choices:
            raise _fail(path, f"Input should be {_choices(spec.choices)}")
        if len(value) < spec.min_length:
            raise _fail(path, f"String should have at least {spec.min_length} character")
        if spec.max_length is not None and len(value) > spec.max_length:
            raise _fail(path, f"String should have at most {spec.max_length} characters")
        if spec.pattern is not None and not spec.pattern.match(value):
            raise _fail(path, f"String should match pattern '{spec.pattern.pattern}'")
    elif isinstance(spec, Int | Num):
        if isinstance(spec, Int) and not _is_int(value):
            raise _fail(path, "Input should be a valid integer")
        ok = _is_int(value) or (isinstance(value, float) and math.isfinite(value))
        if not ok:
            raise _fail(path, "Input should be a valid number")
        if spec.ge is not None and value < spec.ge:
            raise _fail(path, f"Input should be greater than or equal to {spec.ge}")
        if spec.le is not None and value > spec.le:
            raise _fail(path, f"Input should be less than or equal to {spec.le}")
    elif isinstance(spec, Bool):
        if not isinstance(value, bool):
            raise _fail(path, "Input should be a valid boolean")
    elif isinstance(spec, Obj):
        _check_object(spec, value, path)
    elif isinstance(spec, ListOf):
        _check_list(spec, value, path)
    elif isinstance(spec, StrOrList):
        if isinstance(value, str):
            _check(spec.string, value, path)
        elif isinstance(value, list):
            _check(spec.array, value, path)
        else:
            raise _fail(path, "Input should be a valid string or a valid list")
    elif isinstance(spec, Tagged):
        tag, variant = _variant(spec, value, path)
        _check_object(variant, value, (*path, tag))
    elif isinstance(spec, Checked):
        _check(spec.spec, value, path)
        spec.check(value, path)
    else:  # pragma: no cover - a schema bug
        raise TypeError(f"unknown spec {spec!r}")


def _check_object(spec: Obj, value: JSON, path: Path) -> None:
    if not isinstance(value, dict):
        raise _fail(path, "Input should be a valid dictionary")
    for name, f in spec.fields.items():
        if name not in value:
            if f.required:
                raise _fail((*path, name), "Field required")
            continue
        item = value[name]
        if item is None and f.nullable:
            continue
        _check(f.spec, item, (*path, name))
    if not spec.open:
        for name in value:
            if name not in spec.fields:
                raise _fail((*path, name), "Extra inputs are not permitted")


def _check_list(spec: ListOf, value: JSON, path: Path) -> None:
    if not isinstance(value, list):
        raise _fail(path, "Input should be a valid list")
    n = len(value)
    if n < spec.min_items:
        noun = "item" if spec.min_items == 1 else "items"
        raise _fail(
            path, f"List should have at least {spec.min_items} {noun} after validation, not {n}"
        )
    if spec.max_items is not None and n > spec.max_items:
        raise _fail(
            path, f"List should have at most {spec.max_items} items after validation, not {n}"
        )
    for i, item in enumerate(value):
        _check(spec.item, item, (*path, i))


def _variant(spec: Tagged, value: JSON, path: Path) -> tuple[str, Obj]:
    if not isinstance(value, dict):
        raise _fail(path, "Input should be a valid dictionary")
    tag = value.get("type", spec.default)
    if tag is None:
        raise _fail(path, "Unable to extract tag using discriminator 'type'")
    if isinstance(tag, str):
        if tag in spec.variants:
            return tag, spec.variants[tag]
        for prefix, variant in spec.families.items():
            if tag.startswith(prefix):
                return tag, variant
    expected = [*spec.variants, *(f"{p}*" for p in spec.families)]
    shown = tag if isinstance(tag, str) else repr(tag)
    raise _fail(
        path,
        f"Input tag '{shown}' found using 'type' does not match any of the expected tags: "
        + ", ".join(f"'{t}'" for t in expected),
    )


# --- the schemas ------------------------------------------------------------------------------

STR, BOOL, OPEN = Str(), Bool(), Obj(open=True)
NONEMPTY = Str(min_length=1)


def _typed(tag: str | tuple[str, ...], fields: Mapping[str, F] | None = None, **kw: Any) -> Obj:
    """A tagged variant: its `type` field plus `fields`."""
    tags = (tag,) if isinstance(tag, str) else tag
    return Obj({"type": F(Str(choices=tags)), **(fields or {})}, **kw)


def _text_nonblank(value: str, path: Path) -> None:
    if not value:
        raise _fail(path, "text content blocks must be non-empty")
    if value.isspace():
        raise _fail(path, "text content blocks must contain non-whitespace text")


_MAGIC = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}


def _image_data(source: dict[str, Any], path: Path) -> None:
    """Base64 image data must decode, and its first bytes must match the media type."""
    try:
        data = base64.b64decode(source["data"], validate=True)
    except (binascii.Error, ValueError):
        raise _fail((*path, "data"), "Image data is not valid base64") from None
    media_type = source["media_type"]
    webp = media_type != "image/webp" or data[8:12] == b"WEBP"
    if not data.startswith(_MAGIC[media_type]) or not webp:
        raise _fail((*path, "data"), f"Image does not match the provided media type {media_type}")


CACHE_CONTROL = F(_typed("ephemeral", {"ttl": F(Str(choices=("5m", "1h")))}), nullable=True)
CITATIONS_CONFIG = F(Obj({"enabled": F(BOOL)}), nullable=True)
_CITATION = Tagged(
    {
        t: _typed(t, open=True)
        for t in (
            "char_location",
            "page_location",
            "content_block_location",
            "web_search_result_location",
            "search_result_location",
        )
    }
)
TEXT = _typed(
    "text",
    {
        "text": F(Checked(STR, _text_nonblank), required=True),
        "cache_control": CACHE_CONTROL,
        "citations": F(ListOf(_CITATION), nullable=True),
    },
)
IMAGE = _typed(
    "image",
    {
        "source": F(
            Tagged(
                {
                    "base64": Obj(
                        {
                            "type": F(STR),
                            "media_type": F(Str(choices=tuple(_MAGIC)), required=True),
                            "data": F(STR, required=True),
                        }
                    ),
                    "url": _typed("url", {"url": F(NONEMPTY, required=True)}),
                    "file": _typed("file", {"file_id": F(NONEMPTY, required=True)}),
                }
            ),
            required=True,
        ),
        "cache_control": CACHE_CONTROL,
        "transformations": F(
            Obj({"oversized_image": F(Str(choices=("downsize", "error")))}), nullable=True
        ),
    },
)
_DOCUMENT_SOURCE = Tagged(
    {
        "base64": _typed(
            "base64",
            {
                "media_type": F(Str(choices=("application/pdf",)), required=True),
                "data": F(STR, required=True),
            },
        ),
        "text": _typed(
            "text",
            {
                "media_type": F(Str(choices=("text/plain",)), required=True),
                "data": F(STR, required=True),
            },
        ),
        "content": _typed(
            "content",
            {
                "content": F(
                    StrOrList(STR, ListOf(Tagged({"text": TEXT, "image": IMAGE}))), required=True
                )
            },
        ),
        "url": _typed("url", {"url": F(NONEMPTY, required=True)}),
        "file": _typed("file", {"file_id": F(NONEMPTY, required=True)}),
    }
)
DOCUMENT = _typed(
    "document",
    {
        "source": F(_DOCUMENT_SOURCE, required=True),
        "cache_control": CACHE_CONTROL,
        "citations": CITATIONS_CONFIG,
        "context": F(STR, nullable=True),
        "title": F(STR, nullable=True),
    },
)
SEARCH_RESULT = _typed(
    "search_result",
    {
        "content": F(ListOf(Tagged({"text": TEXT})), required=True),
        "source": F(STR, required=True),
        "title": F(STR, required=True),
        "cache_control": CACHE_CONTROL,
        "citations": CITATIONS_CONFIG,
    },
)
TOOL_USE = _typed(
    "tool_use",
    {
        "id": F(Str(pattern=_TOOL_USE_ID), required=True),
        "name": F(NONEMPTY, required=True),
        "input": F(OPEN, required=True),
        "cache_control": CACHE_CONTROL,
        "caller": F(OPEN),
        "toolset_name": F(STR, nullable=True),
    },
)
TOOL_RESULT = _typed(
    "tool_result",
    {
        "tool_use_id": F(Str(pattern=_TOOL_USE_ID), required=True),
        "content": F(
            StrOrList(
                STR,
                ListOf(
                    Tagged(
                        {
                            "text": TEXT,
                            "image": IMAGE,
                            "search_result": SEARCH_RESULT,
                            "document": DOCUMENT,
                            "tool_reference": _typed(
                                "tool_reference",
                                {
                                    "tool_name": F(NONEMPTY, required=True),
                                    "cache_control": CACHE_CONTROL,
                                },
                            ),
                            "browser_state": _typed("browser_state", open=True),
                        }
                    )
                ),
            )
        ),
        "is_error": F(BOOL),
        "cache_control": CACHE_CONTROL,
        "toolset_name": F(STR, nullable=True),
    },
)
# Replayed server-tool blocks and beta blocks: their type is known, their fields unchecked.
_OPEN_BLOCKS = (
    "server_tool_use",
    "web_search_tool_result",
    "web_fetch_tool_result",
    "code_execution_tool_result",
    "bash_code_execution_tool_result",
    "text_editor_code_execution_tool_result",
    "tool_search_tool_result",
    "container_upload",
    "mcp_tool_use",
    "mcp_tool_result",
    "compaction",
)
BLOCK = Tagged(
    {
        "text": TEXT,
        "image": IMAGE,
        "document": DOCUMENT,
        "search_result": SEARCH_RESULT,
        "thinking": _typed(
            "thinking", {"thinking": F(STR, required=True), "signature": F(STR, required=True)}
        ),
        "redacted_thinking": _typed("redacted_thinking", {"data": F(STR, required=True)}),
        "tool_use": TOOL_USE,
        "tool_result": TOOL_RESULT,
        **{t: _typed(t, open=True) for t in _OPEN_BLOCKS},
    }
)
MESSAGE = Obj(
    {
        "role": F(Str(choices=("user", "assistant", "system")), required=True),
        "content": F(StrOrList(STR, ListOf(BLOCK)), required=True),
    }
)
_INPUT_SCHEMA = Obj(
    {
        "type": F(Str(choices=("object",)), required=True),
        "properties": F(OPEN, nullable=True),
        "required": F(ListOf(STR), nullable=True),
    },
    open=True,
)
_TOOL_COMMON = {
    "cache_control": CACHE_CONTROL,
    "strict": F(BOOL),
    "defer_loading": F(BOOL),
    "input_examples": F(ListOf(OPEN)),
    "allowed_callers": F(ListOf(STR)),
}
CUSTOM_TOOL = Obj(
    {
        "type": F(Str(choices=("custom",)), nullable=True),
        "name": F(Str(pattern=_TOOL_NAME), required=True),
        "description": F(STR),
        "input_schema": F(_INPUT_SCHEMA, required=True),
        "eager_input_streaming": F(BOOL, nullable=True),
        **_TOOL_COMMON,
    }
)
# Anthropic-defined tools, keyed by versioned type: open (their options vary by version).
_SERVER_TOOL = Obj({"type": F(STR, required=True), "name": F(STR)}, open=True)
TOOL = Tagged(
    {"custom": CUSTOM_TOOL},
    families=dict.fromkeys(
        (
            "bash_",
            "code_execution_",
            "memory_",
            "text_editor_",
            "web_search_",
            "web_fetch_",
            "tool_search_tool_",
            "computer_",
            "browser_toolset_",
            "mcp_toolset",
        ),
        _SERVER_TOOL,
    ),
    default="custom",
)
_PARALLEL = {"disable_parallel_tool_use": F(BOOL)}
TOOL_CHOICE = Tagged(
    {
        "auto": _typed("auto", _PARALLEL),
        "any": _typed("any", _PARALLEL),
        "tool": _typed("tool", {"name": F(NONEMPTY, required=True), **_PARALLEL}),
        "none": _typed("none"),
    }
)
_DISPLAY = {"display": F(Str(choices=("summarized", "omitted")), nullable=True)}
THINKING = Tagged(
    {
        "enabled": _typed("enabled", {"budget_tokens": F(Int(ge=1024), required=True), **_DISPLAY}),
        "disabled": _typed("disabled"),
        "adaptive": _typed("adaptive", _DISPLAY),
        "between_tools": _typed("between_tools"),
    }
)
_COMMON = {
    "model": F(NONEMPTY, required=True),
    "messages": F(ListOf(MESSAGE, min_items=1, max_items=100_000), required=True),
    "system": F(StrOrList(STR, ListOf(Tagged({"text": TEXT})))),
    "tools": F(ListOf(TOOL)),
    "tool_choice": F(TOOL_CHOICE),
    "thinking": F(THINKING),
    "cache_control": CACHE_CONTROL,
    "output_config": F(
        Obj(
            {
                "effort": F(Str(choices=("low", "medium", "high", "xhigh", "max")), nullable=True),
                "format": F(
                    Tagged(
                        {"json_schema": _typed("json_schema", {"schema": F(OPEN, required=True)})}
                    ),
                    nullable=True,
                ),
            }
        )
    ),
    "speed": F(Str(choices=("standard", "fast")), nullable=True),
    # Beta body fields (the SDK's beta create params): accepted, not modelled.
    "mcp_servers": F(ListOf(OPEN)),
    "context_management": F(Anything(), nullable=True),
}
CREATE = Obj(
    {
        **_COMMON,
        "max_tokens": F(Int(ge=0), required=True),
        "stop_sequences": F(ListOf(Checked(STR, lambda s, p: _stop_sequence(s, p)))),
        "stream": F(BOOL),
        "temperature": F(Num(ge=0, le=1)),
        "top_p": F(Num(ge=0, le=1)),
        "top_k": F(Int(ge=0)),
        "metadata": F(Obj({"user_id": F(Str(max_length=256), nullable=True)})),
        "service_tier": F(Str(choices=("auto", "standard_only"))),
        "container": F(Anything(), nullable=True),
        "inference_geo": F(STR, nullable=True),
        "diagnostics": F(Anything(), nullable=True),
        **{
            name: F(Anything(), nullable=True)
            for name in (
                "billing_policy",
                "compaction",
                "fallback_credit_token",
                "fallbacks",
                "thread",
            )
        },
    }
)
COUNT_TOKENS = Obj(_COMMON)
BATCH = Obj(
    {
        "requests": F(
            ListOf(
                Obj(
                    {
                        "custom_id": F(Str(pattern=_CUSTOM_ID), required=True),
                        "params": F(OPEN, required=True),  # checked when the batch runs
                    }
                ),
                min_items=1,
                max_items=MAX_BATCH_REQUESTS,
            ),
            required=True,
        )
    }
)


def _stop_sequence(value: str, path: Path) -> None:
    if not value or value.isspace():
        raise _fail(path, "stop sequences must contain non-whitespace characters")


# --- rules across fields ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    body: dict[str, Any]
    model: ModelFacts
    version: str
    betas: frozenset[str]
    create: bool


def _sampling(ctx: _Context) -> None:
    body = ctx.body
    if ctx.version == "2026-10-21":
        for name in ("temperature", "top_p", "top_k"):
            if name in body:
                raise _fail((name,), "not supported in 2026-10-21")
    if ctx.model.exclusive_sampling and "temperature" in body and "top_p" in body:
        raise _fail(
            ("temperature",),
            "`temperature` and `top_p` cannot both be specified for this model. "
            "Please use only one.",
        )


def _max_tokens(ctx: _Context) -> None:
    n = ctx.body["max_tokens"]
    if n > ctx.model.max_tokens:
        raise _fail(
            ("max_tokens",),
            f"{n} > {ctx.model.max_tokens}, which is the maximum allowed number of output "
            f"tokens for {ctx.model.id}",
        )


def _thinking(ctx: _Context) -> None:
    thinking = ctx.body.get("thinking")
    if thinking is None:
        return
    kind = thinking["type"]
    if kind not in ctx.model.thinking:
        raise _fail(
            ("thinking", "type"), f"'{kind}' thinking is not supported by model {ctx.model.id}"
        )
    if kind not in ("enabled", "adaptive"):
        return
    budget = thinking.get("budget_tokens")
    interleaved = "interleaved-thinking-2025-05-14" in ctx.betas
    if ctx.create and budget is not None and not interleaved and budget >= ctx.body["max_tokens"]:
        raise _fail(
            ("max_tokens",),
            "`max_tokens` must be greater than `thinking.budget_tokens`",
        )
    body = ctx.body
    if "temperature" in body and body["temperature"] != 1:
        raise _fail(("temperature",), "`temperature` may only be set to 1 when thinking is enabled")
    if "top_k" in body:
        raise _fail(("top_k",), "`top_k` is not supported when thinking is enabled")
    if "top_p" in body and body["top_p"] < 0.95:
        raise _fail(("top_p",), "`top_p` must be between 0.95 and 1 when thinking is enabled")
    choice = body.get("tool_choice")
    if choice is not None and choice["type"] in ("any", "tool"):
        raise _fail(
            ("tool_choice",), "Thinking may not be enabled when tool_choice forces tool use."
        )


def _tools(ctx: _Context) -> None:
    names: set[str] = set()
    for i, tool in enumerate(ctx.body.get("tools", ())):
        name = tool.get("name")
        if isinstance(name, str):
            if name in names:
                raise _fail(("tools", i, "name"), f"Tool names must be unique: '{name}'")
            names.add(name)
    choice = ctx.body.get("tool_choice")
    if choice is not None and choice["type"] == "tool" and choice["name"] not in names:
        raise _fail(("tool_choice", "name"), f"Tool '{choice['name']}' not found in tools")


def _blocks(message: dict[str, Any]) -> list[Any]:
    content = message["content"]
    return content if isinstance(content, list) else []


def _turns(messages: list[dict[str, Any]]) -> Iterator[tuple[str, list[int]]]:
    """Consecutive same-role messages merged into turns: (role, message indexes)."""
    role, indexes = "", list[int]()
    for i, message in enumerate(messages):
        if message["role"] == "system":
            continue
        if message["role"] != role and indexes:
            yield role, indexes
            indexes = []
        role = message["role"]
        indexes.append(i)
    if indexes:
        yield role, indexes


def _content(ctx: _Context) -> None:
    messages = ctx.body["messages"]
    last = len(messages) - 1
    for i, message in enumerate(messages):
        final_assistant = i == last and message["role"] == "assistant"
        if not message["content"] and not final_assistant:
            raise _fail(
                ("messages", i),
                "all messages must have non-empty content except for the optional final "
                "assistant message",
            )
    if messages[last]["role"] != "assistant":
        return
    if not ctx.model.prefill:
        raise _fail(
            ("messages", last),
            "This model does not support assistant message prefill. The conversation must "
            "end with a user message.",
        )
    content = messages[last]["content"]
    text = content if isinstance(content, str) else None
    if isinstance(content, list) and content and content[-1].get("type") == "text":
        text = content[-1]["text"]
    if text and text != text.rstrip():
        raise _fail(
            ("messages", last), "final assistant content cannot end with trailing whitespace"
        )


def _pairing(ctx: _Context) -> None:
    """Every tool_use is answered by a tool_result in the next turn, and only those."""
    messages = ctx.body["messages"]
    turns = list(_turns(messages))
    for t, (role, indexes) in enumerate(turns):
        if role == "assistant":
            used = [
                (i, block["id"])
                for i in indexes
                for block in _blocks(messages[i])
                if block.get("type") == "tool_use"
            ]
            seen: set[str] = set()
            for i, tool_id in used:
                if tool_id in seen:
                    raise _fail(("messages", i), f"`tool_use` ids must be unique: {tool_id}")
                seen.add(tool_id)
            if not used or t + 1 == len(turns):
                continue  # nothing to answer, or a final (prefill) turn
            answered = {
                block["tool_use_id"]
                for i in turns[t + 1][1]
                for block in _blocks(messages[i])
                if block.get("type") == "tool_result"
            }
            missing = [tool_id for _, tool_id in used if tool_id not in answered]
            if missing:
                raise _fail(
                    ("messages", used[0][0]),
                    "`tool_use` ids were found without `tool_result` blocks immediately after: "
                    f"{', '.join(missing)}. Each `tool_use` block must have a corresponding "
                    "`tool_result` block in the next message.",
                )
        else:
            previous = turns[t - 1] if t > 0 else ("", [])
            offered = {
                block["id"]
                for i in previous[1]
                for block in _blocks(messages[i])
                if block.get("type") == "tool_use"
            }
            for i in indexes:
                for j, block in enumerate(_blocks(messages[i])):
                    if block.get("type") == "tool_result" and block["tool_use_id"] not in offered:
                        raise _fail(
                            ("messages", i, "content", j),
                            "unexpected `tool_use_id` found in `tool_result` blocks: "
                            f"{block['tool_use_id']}. Each `tool_result` block must have a "
                            "corresponding `tool_use` block in the previous message.",
                        )


def _images(ctx: _Context) -> None:
    """Base64 images (in messages and in tool results) decode to their media type."""
    for i, message in enumerate(ctx.body["messages"]):
        for j, block in enumerate(_blocks(message)):
            nested = block.get("content") if block.get("type") == "tool_result" else None
            inner = nested if isinstance(nested, list) else []
            candidates = [((j,), block), *(((j, "content", k), b) for k, b in enumerate(inner))]
            for where, item in candidates:
                source = item.get("source")
                if item.get("type") == "image" and source.get("type") == "base64":
                    _image_data(source, ("messages", i, "content", *where, "source"))


_RULES: tuple[Callable[[_Context], None], ...] = (
    _sampling,
    _thinking,
    _tools,
    _content,
    _pairing,
    _images,
)


# --- entry points -----------------------------------------------------------------------------


def _betas(headers: Mapping[str, str]) -> frozenset[str]:
    raw = headers.get("anthropic-beta", "")
    return frozenset(v.strip() for v in raw.split(",") if v.strip())


def check_betas(headers: Mapping[str, str]) -> None:
    """An `anthropic-beta` value the API does not know is a 400 naming it."""
    unknown = sorted(_betas(headers) - BETAS)
    if unknown:
        listed = ", ".join(f"`{v}`" for v in unknown)
        raise RequestRejected(
            400,
            f"anthropic-beta: Unexpected value(s) {listed} for the `anthropic-beta` header. "
            "Please consult our documentation or try again without the header.",
        )


def _model(body: dict[str, Any]) -> ModelFacts:
    facts = find_model(body["model"])
    if facts is None:
        raise RequestRejected(404, f"model: {body['model']}", "not_found_error")
    return facts


def _validate(
    schema: Obj, body: JSON, headers: Mapping[str, str], create: bool, output_limit: bool = True
) -> ModelFacts:
    _check(schema, body, ())
    model = _model(body)
    ctx = _Context(
        body, model, headers.get("anthropic-version", "2023-06-01"), _betas(headers), create
    )
    if create and output_limit:
        _max_tokens(ctx)
    for rule in _RULES:
        rule(ctx)
    return model


def check_create(
    body: JSON, headers: Mapping[str, str], *, output_limit: bool = True
) -> ModelFacts:
    """Validate a create-message body; returns the model it names (aliases resolved).

    `output_limit=False` skips the model's `max_tokens` limit (the emulator's `reply=long`
    streams, which are for load tests, take any length).
    """
    return _validate(CREATE, body, headers, True, output_limit)


def check_count_tokens(body: JSON, headers: Mapping[str, str]) -> ModelFacts:
    """Validate a count-tokens body (the create fields that shape the prompt, no others)."""
    return _validate(COUNT_TOKENS, body, headers, False)


def check_batch(body: JSON) -> None:
    """Validate a batch-create body: 1-100,000 requests, each a unique well-formed custom_id.

    Each request's `params` is checked when the batch runs (as the API does, asynchronously):
    a bad one ends `errored` in the results.
    """
    _check(BATCH, body, ())
    seen: set[str] = set()
    for i, item in enumerate(body["requests"]):
        if item["custom_id"] in seen:
            raise _fail(("requests", i, "custom_id"), "must be unique within the batch")
        seen.add(item["custom_id"])
