"""The emulator's reply model: a create-message body -> the final Message and its stream.

Pure functions, no I/O, no clock. A reply is a function of the body and the seed,
except that `stream` is ignored (streamed and plain replies agree) and `max_tokens`
only cuts (a smaller one gives a prefix of the same reply). The message id comes
from the caller; tool-use ids and thinking signatures are derived from it.

- Text echoes the last user turn (so a stop sequence written there is reachable)
  plus filler sentences, cut into 1-12 character pieces: one piece = one output token.
  Stop sequences apply to text only; the text ends just before the first one completed.
- Tools are used when `tool_choice` is `any`/`tool`, or `auto` (or absent) and the
  last user turn names a tool and carries no `tool_result`; never under `none`.
  The input follows the tool's `input_schema`; a forced call has no text before it.
- `thinking` `enabled`/`adaptive` opens with a thinking block (`display: "omitted"`:
  no thinking text, its tokens still billed) closed by one `signature_delta`.

`LongReply` is the other kind (`x-wire-fault: reply=long`): text that runs to
`max_tokens`, made lazily, for load tests and benchmarks.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import math
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["LongReply", "Reply", "count_tokens", "make_reply"]

JSONDict = dict[str, Any]

_VOCAB = (
    "the",
    "stream",
    "carries",
    "each",
    "piece",
    "in",
    "order",
    "and",
    "client",
    "builds",
    "message",
    "a",
    "small",
    "clear",
    "answer",
    "here",
    "we",
    "can",
    "check",
    "every",
    "delta",
    "token",
    "café",
    "naïve",
    "résumé",
    "Zürich",
    "São Paulo",
    "東京",
    "こんにちは",
    "数据",
    "流式",
    "🙂",
    "🌤️",
    "✨",
)
_OPENERS = ("Sure", "Certainly", "Of course", "Got it", "Bien sûr", "好的", "Happy to help")
_PLACES = ("Paris", "São Paulo", "東京", "Zürich", "Reykjavík")
_WORDS = ("alpha", "bravo", "café", "delta", "écho", "数据", "zulu")
_ID_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_ECHO_CHARS = 300
_TOKEN = re.compile(r"\s*\S+|\s+")


@dataclass(frozen=True)
class Reply:
    """The final `message` (a non-streaming response body) and the stream `events` for it.

    Both share sub-objects: serialise them, do not mutate them.
    """

    message: JSONDict
    events: list[JSONDict]


def count_tokens(body: JSONDict) -> int:
    """A deterministic input-token estimate: about four characters a token, at least 1."""
    messages = body.get("messages")
    turns = len(messages) if isinstance(messages, list) else 0
    chars = sum(_chars(body.get(key)) for key in ("system", "messages", "tools"))
    return max(1, chars // 4 + 3 * turns)


_UNCOUNTED = frozenset({"type", "id", "tool_use_id", "signature", "cache_control", "citations"})


def _chars(value: Any) -> int:
    """The characters that count as input in a JSON value (an image source: 6000).

    Iterative, so any nesting a JSON parser returns is fine.
    """
    total = 0
    stack = [value]
    while stack:
        x = stack.pop()
        if isinstance(x, str):
            total += len(x)
        elif isinstance(x, int | float) and not isinstance(x, bool):
            total += 2
        elif isinstance(x, list):
            stack.extend(x)
        elif isinstance(x, dict):
            for k, v in x.items():
                if k in _UNCOUNTED:
                    continue
                if k == "source" and isinstance(v, dict):
                    total += 6000
                else:
                    total += len(k)
                    stack.append(v)
    return total


def _rngs(body: JSONDict, seed: int) -> Callable[[str], random.Random]:
    """Seeded generators, one per label, from the seed and the body less `stream`/`max_tokens`."""
    key = {k: v for k, v in body.items() if k not in ("stream", "max_tokens")}
    digest = hashlib.sha256(f"{seed}\n{json.dumps(key, sort_keys=True, default=repr)}".encode())

    def rng(label: str) -> random.Random:
        data = hashlib.sha256(digest.digest() + label.encode()).digest()
        return random.Random(int.from_bytes(data[:8], "big"))

    return rng


def make_reply(body: JSONDict, *, seed: int = 0, message_id: str) -> Reply:
    """The reply to `body` under `seed`, with id `message_id`."""
    rng = _rngs(body, seed)
    max_tokens = body.get("max_tokens")
    budget = max_tokens if isinstance(max_tokens, int) and max_tokens >= 1 else 1
    user_text, after_tool = _last_user_turn(body.get("messages"))
    stops = body.get("stop_sequences")
    stops = [s for s in stops if isinstance(s, str) and s] if isinstance(stops, list) else []
    choice = body.get("tool_choice")
    choice_type = choice.get("type", "auto") if isinstance(choice, dict) else "auto"
    forced = choice_type in ("any", "tool")
    tool = _pick_tool(body.get("tools"), choice, choice_type, user_text, after_tool)

    blocks: list[tuple[JSONDict, JSONDict, list[JSONDict]]] = []  # final, start shell, deltas
    used = 0
    stop_reason: str | None = None
    stop_sequence: str | None = None

    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive"):
        limit = budget
        if isinstance(thinking.get("budget_tokens"), int) and thinking["budget_tokens"] >= 1:
            limit = min(limit, thinking["budget_tokens"])
        gen = _pieces(_thinking_text(user_text, rng("thinking")), rng("thinking-split"), 12)
        taken = [p for _, p in zip(range(limit), gen, strict=False)]
        used = len(taken)
        if used == budget and next(gen, None) is not None:
            stop_reason = "max_tokens"
        omitted = thinking.get("display") == "omitted"
        signature = _signature(message_id)
        deltas = [] if omitted else [{"type": "thinking_delta", "thinking": p} for p in taken]
        deltas.append({"type": "signature_delta", "signature": signature})
        final = {
            "type": "thinking",
            "thinking": "" if omitted else "".join(taken),
            "signature": signature,
        }
        blocks.append((final, {"type": "thinking", "thinking": "", "signature": ""}, deltas))

    if stop_reason is None:
        text_rng = rng("text")
        if tool is None:
            text = _answer(user_text, after_tool, stops, text_rng)
        elif not forced and (text_rng.random() < 0.6 or any(s in user_text for s in stops)):
            text = _preface(tool["name"], user_text, stops, text_rng)
        else:
            text = ""
        gen = _pieces(text, rng("text-split"), 12)
        pieces, stop_reason, stop_sequence, n = _walk(text, gen, stops, budget - used)
        used += n
        if pieces:
            deltas = [{"type": "text_delta", "text": p} for p in pieces]
            blocks.append(
                ({"type": "text", "text": "".join(pieces)}, {"type": "text", "text": ""}, deltas)
            )

    if stop_reason is None and tool is not None:
        schema = tool.get("input_schema")
        tool_input = _value(schema if isinstance(schema, dict) else {}, rng("input"), "", 0)
        if not isinstance(tool_input, dict):
            tool_input = {}
        fragments = list(
            _pieces(
                json.dumps(tool_input, separators=(",", ":"), ensure_ascii=False),
                rng("input-split"),
                10,
            )
        )
        if len(fragments) <= budget - used:
            used += len(fragments)
            stop_reason = "tool_use"
            block = {
                "type": "tool_use",
                "id": _tool_id(message_id, len(blocks)),
                "name": tool["name"],
                "input": tool_input,
                "caller": {"type": "direct"},
            }
            deltas = [{"type": "input_json_delta", "partial_json": f} for f in ["", *fragments]]
            blocks.append((block, {**block, "input": {}}, deltas))
        else:  # the call did not fit: the budget went into an unfinished call
            used = budget
            stop_reason = "max_tokens"

    usage = _usage(body, max(used, 1))
    head = {"model": body.get("model"), "id": message_id, "type": "message", "role": "assistant"}
    message = {
        **head,
        "content": [final for final, _, _ in blocks],
        "stop_reason": stop_reason or "end_turn",
        "stop_sequence": stop_sequence,
        "usage": usage,
    }
    events = _events(head, blocks, message, rng("ping"))
    return Reply(message=message, events=events)


def _usage(body: JSONDict, output_tokens: int) -> JSONDict:
    return {
        "input_tokens": count_tokens(body),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


# A long reply sends a ping after every this many deltas (so its event count is known).
LONG_PING_EVERY = 20


class LongReply:
    """A reply whose text runs until `max_tokens` (`x-wire-fault: reply=long`), made lazily.

    One text block of `max_tokens` pieces (one piece = one token), `stop_reason`
    `max_tokens`; tools, thinking and stop sequences do not apply. The text is a
    function of the seed and the body (less `stream` and `max_tokens`, so a smaller
    `max_tokens` gives a prefix). `events()` yields the stream one event at a time and
    holds O(1) state, so a reply of any length costs no memory; `message()` builds
    the whole text (for a non-streaming response).
    """

    def __init__(self, body: JSONDict, *, seed: int, message_id: str) -> None:
        max_tokens = body.get("max_tokens")
        self.tokens = max_tokens if isinstance(max_tokens, int) and max_tokens >= 1 else 1
        self._rng = _rngs(body, seed)
        self.head: JSONDict = {
            "model": body.get("model"),
            "id": message_id,
            "type": "message",
            "role": "assistant",
        }
        self.usage = _usage(body, self.tokens)

    @property
    def event_count(self) -> int:
        """How many events `events()` yields (known up front: pings come at a fixed rate)."""
        return self.tokens + self.tokens // LONG_PING_EVERY + 6

    def pieces(self) -> Iterator[str]:
        """The text's `tokens` pieces, made as they are taken (the same on every call)."""
        text_rng, split_rng = self._rng("long-text"), self._rng("long-split")

        def sentences() -> Iterator[str]:
            yield text_rng.choice(_OPENERS) + "!"
            while True:
                yield " " + _sentence(text_rng)

        pieces = (piece for s in sentences() for piece in _pieces(s, split_rng, 12))
        return itertools.islice(pieces, self.tokens)

    def message(self) -> JSONDict:
        return {
            **self.head,
            "content": [{"type": "text", "text": "".join(self.pieces())}],
            "stop_reason": "max_tokens",
            "stop_sequence": None,
            "usage": self.usage,
        }

    def events(self) -> Iterator[JSONDict]:
        start = {
            **self.head,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {**self.usage, "output_tokens": 1},
        }
        yield {"type": "message_start", "message": start}
        yield {"type": "ping"}
        yield {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "text", "text": ""},
        }
        for n, piece in enumerate(self.pieces(), 1):
            yield {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": piece},
            }
            if n % LONG_PING_EVERY == 0:
                yield {"type": "ping"}
        yield {"type": "content_block_stop", "index": 0}
        yield {
            "type": "message_delta",
            "delta": {"stop_reason": "max_tokens", "stop_sequence": None},
            "usage": {k: v for k, v in self.usage.items() if k.endswith("_tokens")},
        }
        yield {"type": "message_stop"}


def _events(
    head: JSONDict,
    blocks: list[tuple[JSONDict, JSONDict, list[JSONDict]]],
    message: JSONDict,
    ping_rng: random.Random,
) -> list[JSONDict]:
    usage = message["usage"]
    start = {
        **head,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**usage, "output_tokens": 1},
    }
    events: list[JSONDict] = [{"type": "message_start", "message": start}, {"type": "ping"}]
    gap = ping_rng.randint(15, 25)
    for index, (_, shell, deltas) in enumerate(blocks):
        events.append({"type": "content_block_start", "index": index, "content_block": shell})
        for delta in deltas:
            events.append({"type": "content_block_delta", "index": index, "delta": delta})
            gap -= 1
            if gap == 0:
                events.append({"type": "ping"})
                gap = ping_rng.randint(15, 25)
        events.append({"type": "content_block_stop", "index": index})
    events.append(
        {
            "type": "message_delta",
            "delta": {
                "stop_reason": message["stop_reason"],
                "stop_sequence": message["stop_sequence"],
            },
            "usage": {k: v for k, v in usage.items() if k.endswith("_tokens")},
        }
    )
    events.append({"type": "message_stop"})
    return events


def _walk(
    text: str, gen: Iterator[str], stops: list[str], budget: int
) -> tuple[list[str], str | None, str | None, int]:
    """Take pieces of `text` until the budget, a stop sequence or the end.

    Returns (pieces, reason, sequence, n). The stop sequence that completes first
    wins (the longer one on a tie); the text ends where it begins. Linear: each
    sequence is looked for once in the whole text, never per piece.
    """
    found = [(at + len(s), at, s) for s in set(stops) if (at := text.find(s)) >= 0]
    end, start, sequence = min(found) if found else (len(text) + 1, 0, None)
    pieces: list[str] = []
    total = used = 0
    for piece in gen:
        if used == budget:
            return pieces, "max_tokens", None, used
        used += 1
        if total + len(piece) >= end:  # this piece completes the sequence
            pieces.append(piece)
            kept: list[str] = []
            cut = start
            for p in pieces:
                if cut <= 0:
                    break
                kept.append(p[:cut])
                cut -= len(p)
            return kept, "stop_sequence", sequence, used
        pieces.append(piece)
        total += len(piece)
    return pieces, None, None, used


def _pieces(text: str, rng: random.Random, longest: int) -> Iterator[str]:
    """Token-like pieces: a word with its leading space when short, else 1..`longest` chars."""
    for match in _TOKEN.finditer(text):
        token = match.group()
        while len(token) > longest:
            n = rng.randint(1, longest)
            yield token[:n]
            token = token[n:]
        if token:
            yield token


def _last_user_turn(messages: Any) -> tuple[str, bool]:
    """The text of the last user turn, and whether it carries a `tool_result`."""
    turns = (
        [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        if (isinstance(messages, list))
        else []
    )
    content = turns[-1].get("content") if turns else None
    after_tool = isinstance(content, list) and any(
        isinstance(b, dict) and b.get("type") == "tool_result" for b in content
    )
    return _text_of(content), after_tool


def _text_of(content: Any) -> str:
    """The text of a turn's content or of a block (tool results included), space-joined.

    Iterative, so any nesting a JSON parser returns is fine.
    """
    texts: list[str] = []
    stack = [content]
    while stack:
        x = stack.pop()
        if isinstance(x, str):
            if x:
                texts.append(x)
        elif isinstance(x, list):
            stack.extend(reversed(x))
        elif isinstance(x, dict):
            stack.append(x.get("text", x.get("content")))
    return " ".join(texts)


def _pick_tool(
    tools: Any, choice: Any, choice_type: Any, user_text: str, after_tool: bool
) -> JSONDict | None:
    if not isinstance(tools, list) or choice_type not in ("auto", "any", "tool"):
        return None
    named = [
        t
        for t in tools
        if isinstance(t, dict)
        and isinstance(t.get("name"), str)
        and t["name"]
        and (t.get("type") in (None, "custom") or "input_schema" in t)
    ]
    if choice_type == "tool":
        wanted = choice.get("name") if isinstance(choice, dict) else None
        return next((t for t in named if t["name"] == wanted), None)
    lowered = user_text.lower()
    mentioned = next((t for t in named if t["name"].lower() in lowered), None)
    if choice_type == "any":
        return mentioned or (named[0] if named else None)
    return None if after_tool else mentioned


def _echo(user_text: str, stops: list[str]) -> str:
    """The user's words, verbatim, long enough to reach any stop sequence they contain."""
    end = _ECHO_CHARS
    for s in stops:
        at = user_text.find(s)
        if at >= 0:
            end = max(end, at + len(s))
    return user_text[:end] + "…" if end < len(user_text) else user_text


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_VOCAB) for _ in range(rng.randint(4, 11))]
    words[0] = words[0][:1].upper() + words[0][1:]
    return " ".join(words) + rng.choice((".", ".", ".", "!", " 🙂."))


def _answer(user_text: str, after_tool: bool, stops: list[str], rng: random.Random) -> str:
    parts = [rng.choice(_OPENERS) + "!"]
    echo = _echo(user_text, stops)
    if echo:
        lead = "The tool returned:" if after_tool else rng.choice(("You wrote:", "You said:"))
        parts.append(f"{lead} “{echo}”.")
    parts.extend(_sentence(rng) for _ in range(rng.randint(1, 4)))
    return " ".join(parts)


def _preface(name: str, user_text: str, stops: list[str], rng: random.Random) -> str:
    text = rng.choice(
        (
            "I'll use the {} tool for this.",
            "Let me call {} — un instant.",
            "Checking with {} first.",
        )
    ).format(name)
    if any(s in user_text for s in stops):
        text = f"You asked: “{_echo(user_text, stops)}”. {text}"
    return text


def _thinking_text(user_text: str, rng: random.Random) -> str:
    words = user_text.split()[:8]
    about = f" The user wrote “{' '.join(words)}”." if words else ""
    rest = " ".join(_sentence(rng) for _ in range(rng.randint(1, 3)))
    return f"Let me think about this.{about} {rest}"


def _value(schema: JSONDict, rng: random.Random, name: str, depth: int) -> Any:
    """A plausible value for a JSON schema: enum, const, or one by `type`."""
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return rng.choice(schema["enum"])
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options and isinstance(options[0], dict) and depth < 8:
            return _value(options[0], rng, name, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if not isinstance(kind, str):  # absent, or not a type name (e.g. an object)
        kind = None
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    low = _bound(schema.get("minimum"), 0)
    high = _bound(schema.get("maximum"), low + 100)
    make: dict[Any, Callable[[], Any]] = {
        "integer": lambda: rng.randint(int(-(-low // 1)), max(int(-(-low // 1)), int(high // 1))),
        "number": lambda: round(rng.uniform(low, max(low, high)), 2),
        "boolean": lambda: rng.random() < 0.5,
        "null": lambda: None,
        "array": lambda: _array(schema, rng, name, depth),
        "object": lambda: _object(schema, rng, depth),
    }
    if kind in make:
        return make[kind]()
    if any(word in name.lower() for word in ("city", "location", "place", "country")):
        return rng.choice(_PLACES)
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 3)))


def _bound(x: Any, default: float) -> float:
    ok = isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
    return x if ok and abs(x) < 1e15 else default


def _array(schema: JSONDict, rng: random.Random, name: str, depth: int) -> list[Any]:
    items = schema.get("items")
    low = int(_bound(schema.get("minItems"), 1))
    count = max(0, min(5, rng.randint(low, max(low, int(_bound(schema.get("maxItems"), 3))))))
    if depth >= 4 or not isinstance(items, dict):
        return []
    return [_value(items, rng, name, depth + 1) for _ in range(count)]


def _object(schema: JSONDict, rng: random.Random, depth: int) -> JSONDict:
    props = schema.get("properties")
    if depth >= 4 or not isinstance(props, dict):
        return {}
    required = schema.get("required")
    required = required if isinstance(required, list) else []
    return {
        k: _value(v if isinstance(v, dict) else {}, rng, k, depth + 1)
        for k, v in props.items()
        if k in required or rng.random() < 0.75
    }


def _derived(message_id: str, label: str, size: int) -> bytes:
    digests = (hashlib.sha256(f"{message_id}\n{label}\n{i}".encode()).digest() for i in range(4))
    return b"".join(digests)[:size]  # up to 128 bytes


def _tool_id(message_id: str, index: int) -> str:
    raw = _derived(message_id, f"tool{index}", 22)
    return "toolu_01" + "".join(_ID_ALPHABET[b % len(_ID_ALPHABET)] for b in raw)


def _signature(message_id: str) -> str:
    return base64.b64encode(b"\x12" + _derived(message_id, "signature", 95)).decode()
