"""Streaming benchmark: wire against the official SDK, httpx-sse and sseclient-py.

Method (../shared/BENCH.md, "Method"): one process; every case is run by
every contender in interleaved rounds whose order rotates; a sample repeats one
call for at least 0.2 s and records seconds per call; the figure is the best of 7
samples (the median is printed beside it); `gc.collect()` + `gc.freeze()` precede
each sample. Before anything is timed, each contender's output on the exact
bytes and chunking of the case is checked against the answer the generator knows
(SSE events as (event, data) pairs; a final message as API JSON). A contender
that answers wrongly is reported and gets no figure.

Cases (inputs generated here, deterministically, from a fixed seed):
  a-sse         SSE decode of a realistic stream (~2,000 text deltas), 16 KiB chunks; 1x and 2x
  a-message     bytes -> final message on the same streams (wire MessageStreamDecoder
                vs the SDK's messages.stream() + get_final_message() over a mock transport)
  b-1byte       SSE decode of a shorter realistic stream (500 deltas) in 1-byte chunks; 1x, 2x
  c-big-event   one event with a single 1 MiB / 2 MiB `data:` line in 64-byte chunks
  d-tool-input  bytes -> final message, a tool_use block whose ~100 KB / ~200 KB JSON input
                arrives as ~10-character input_json_delta fragments
  e-text-reads  bytes -> message read after every event (what a UI does), the streams of (a)
  f-tool-reads  the same on the streams of (d): a tool-input snapshot after every fragment
  g-block-reads the same on 2,000 / 4,000 small blocks (each read copies one pointer per block
                into the content tuple: the O(n) part that remains)

Run from the repository root:
    python bench/bench_stream.py                 # full run (a few minutes on 2 cores)
    python bench/bench_stream.py --quick         # 3 samples per figure, a smoke run
    python bench/bench_stream.py --case a-sse --case d --json results.json
    python bench/bench_stream.py --profile       # cProfile of wire on (a) and (d), no timing

wire never depends on the contenders; a contender whose package is missing is
reported as "not installed" and skipped.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib.metadata
import io
import json
import os
import platform
import pstats
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import wire
except ImportError:  # a checkout that is not installed: use the repository's copy
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import wire

SEED = 20240229
MIN_SAMPLE_SECONDS = 0.2
# Time allowed for one contender's samples on one input. A contender whose single call is
# so slow that 7 samples would overrun it (the SDK re-parses the whole tool input on every
# fragment: ~20 s per call at 200 KB) gets fewer samples, at least 1; the table shows n.
ENTRY_BUDGET_SECONDS = 8.0
DEFAULT_SAMPLES = 7
QUICK_SAMPLES = 3
SDK = "sdk"  # the reference every ratio is taken against

# --- deterministic inputs -------------------------------------------------------------------

_WORDS = (
    "the of and to in is that it for on with as was at by this be from or an are which "
    "weather forecast city river bridge north south morning evening light rain cloud wind "
    "temperature degrees today tomorrow week result value function return list string "
    "number object request response stream token model answer question because however"
)
_ASCII_WORDS = _WORDS.split()
_ACCENTED = [
    "café",
    "naïve",
    "São Paulo",
    "Zürich",
    "señor",
    "façade",
    "élève",
    "Kraków",
    "garçon",
    "Ærøskøbing",
    "crème brûlée",
    "Ångström",
]
_CJK = ["東京", "日本語", "北京", "서울", "漢字", "大阪", "中文", "こんにちは"]
_EMOJI = ["🌤️", "🚀", "👍🏽", "🎉", "😀", "🇫🇷", "👩‍💻", "☕"]
_PUNCT = [", ", ". ", "; ", ": ", "! ", "? ", ".\n\n", ' "', '" ', " (", ") ", " - ", "\n- "]


def _prose(rng: random.Random, n_chars: int) -> str:
    """Text that looks like model output: mostly ASCII words, some accents, CJK, emoji."""
    parts: list[str] = []
    size = 0
    while size < n_chars:
        r = rng.random()
        if r < 0.86:
            word = rng.choice(_ASCII_WORDS)
        elif r < 0.92:
            word = rng.choice(_ACCENTED)
        elif r < 0.96:
            word = rng.choice(_CJK)
        else:
            word = rng.choice(_EMOJI)
        sep = rng.choice(_PUNCT) if rng.random() < 0.12 else " "
        parts.append(word)
        parts.append(sep)
        size += len(word) + len(sep)
    return "".join(parts)[:n_chars]


def _dumps(obj: Any) -> str:
    """The API's compact JSON, non-ASCII as UTF-8."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _frame(event: str, data: str) -> bytes:
    return f"event: {event}\ndata: {data}\n\n".encode()


def _rand_id(rng: random.Random, prefix: str) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return prefix + "".join(rng.choice(alphabet) for _ in range(24))


@dataclass
class Stream:
    """One generated input and the answers every contender must give."""

    raw: bytes
    events: list[tuple[str, str]]  # (event name, data) in order
    message: dict[str, Any] | None  # the final message as API JSON, when the stream is one


class _Builder:
    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.events: list[tuple[str, str]] = []

    def add(self, event: str, data: str) -> None:
        self.frames.append(_frame(event, data))
        self.events.append((event, data))

    def add_json(self, obj: dict[str, Any]) -> None:
        self.add(obj["type"], _dumps(obj))

    def stream(self, message: dict[str, Any] | None) -> Stream:
        return Stream(b"".join(self.frames), self.events, message)


def _message_shell(rng: random.Random) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-6",
        "id": _rand_id(rng, "msg_01"),
        "type": "message",
        "role": "assistant",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 2095,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 1024,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
            "output_tokens": 1,
            "service_tier": "standard",
        },
    }


def _finish(
    b: _Builder,
    shell: dict[str, Any],
    content: list[dict[str, Any]],
    stop_reason: str,
    output_tokens: int,
) -> Stream:
    usage = {
        "input_tokens": 2095,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 1024,
        "output_tokens": output_tokens,
    }
    b.add_json(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": usage,
        }
    )
    b.add_json({"type": "message_stop"})
    final = json.loads(json.dumps(shell))
    final["content"] = content
    final["stop_reason"] = stop_reason
    final["usage"].update(usage)
    return b.stream(final)


def _text_block(b: _Builder, rng: random.Random, index: int, n_deltas: int) -> dict[str, Any]:
    b.add_json(
        {
            "type": "content_block_start",
            "index": index,
            "content_block": {"type": "text", "text": ""},
        }
    )
    b.add("ping", '{"type": "ping"}')  # the API sends one early, with this spacing
    pieces: list[str] = []
    source = _prose(rng, n_deltas * 8)
    pos = 0
    for _ in range(n_deltas):
        size = rng.randint(1, 12)
        piece = source[pos : pos + size]
        pos += size
        if len(piece) < size:  # ran out of prose: take more
            source = _prose(rng, n_deltas * 8)
            pos = size - len(piece)
            piece += source[:pos]
        pieces.append(piece)
        b.add_json(
            {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "text_delta", "text": piece},
            }
        )
        if rng.random() < 0.004:
            b.add("ping", '{"type": "ping"}')
    b.add_json({"type": "content_block_stop", "index": index})
    return {"type": "text", "text": "".join(pieces)}


def realistic_stream(n_deltas: int, seed: int = SEED) -> Stream:
    """message_start, one text block of `n_deltas` 1-12 character deltas, message_delta, stop."""
    rng = random.Random(seed)
    b = _Builder()
    shell = _message_shell(rng)
    b.add_json({"type": "message_start", "message": shell})
    block = _text_block(b, rng, 0, n_deltas)
    return _finish(b, shell, [block], "end_turn", n_deltas + 7)


def big_event_stream(data_bytes: int, seed: int = SEED) -> Stream:
    """One `content_block_delta` whose single `data:` line is `data_bytes` of UTF-8."""
    rng = random.Random(seed)
    envelope = _dumps(
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": ""}}
    )
    budget = data_bytes - len(envelope.encode())
    text = _prose(rng, budget)
    # Trim to the byte budget (JSON escapes and multi-byte characters make it larger).
    while True:
        data = _dumps(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": text},
            }
        )
        excess = len(data.encode()) - data_bytes
        if excess <= 0:
            break
        text = text[: len(text) - max(1, excess // 4)]
    b = _Builder()
    b.add("content_block_delta", data)
    return b.stream(None)


def _tool_input(rng: random.Random, approx_bytes: int) -> str:
    """A realistic tool input: nested records with strings, numbers, booleans and null."""
    records: list[dict[str, Any]] = []
    size = 0
    while size < approx_bytes:
        record = {
            "id": len(records) + 1,
            "name": _prose(rng, rng.randint(5, 30)).strip(),
            "tags": [rng.choice(_ASCII_WORDS) for _ in range(rng.randint(0, 4))],
            "score": round(rng.uniform(-1000, 1000), 3),
            "active": rng.random() < 0.5,
            "parent": None if rng.random() < 0.7 else rng.randint(1, 10_000),
            "note": _prose(rng, rng.randint(0, 120)),
        }
        records.append(record)
        size += len(json.dumps(record, ensure_ascii=False)) + 2
    obj = {"table": "observations", "dry_run": False, "records": records}
    return json.dumps(obj, ensure_ascii=False)  # what models emit: ", " and ": " spacing


def tool_stream(input_bytes: int, seed: int = SEED) -> Stream:
    """A short text block, then a tool_use block whose JSON input streams in ~10-char pieces."""
    rng = random.Random(seed)
    b = _Builder()
    shell = _message_shell(rng)
    b.add_json({"type": "message_start", "message": shell})
    text = _text_block(b, rng, 0, 12)
    tool_id = _rand_id(rng, "toolu_01")
    b.add_json(
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {
                "type": "tool_use",
                "id": tool_id,
                "name": "write_records",
                "input": {},
            },
        }
    )
    source = _tool_input(rng, input_bytes)
    fragments = [""]  # the API opens every tool input with an empty fragment
    pos = 0
    while pos < len(source):
        size = rng.randint(5, 15)
        fragments.append(source[pos : pos + size])
        pos += size
    for fragment in fragments:
        b.add_json(
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": fragment},
            }
        )
    b.add_json({"type": "content_block_stop", "index": 1})
    tool = {"type": "tool_use", "id": tool_id, "name": "write_records", "input": json.loads(source)}
    return _finish(b, shell, [text, tool], "tool_use", len(fragments) + 20)


def blocks_stream(n_blocks: int, seed: int = SEED) -> Stream:
    """`n_blocks` text blocks of one short delta each: many blocks, little text."""
    rng = random.Random(seed)
    b = _Builder()
    shell = _message_shell(rng)
    b.add_json({"type": "message_start", "message": shell})
    content = []
    for index in range(n_blocks):
        text = _prose(rng, rng.randint(1, 12))
        b.add_json(
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {"type": "text", "text": ""},
            }
        )
        b.add_json(
            {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "text_delta", "text": text},
            }
        )
        b.add_json({"type": "content_block_stop", "index": index})
        content.append({"type": "text", "text": text})
    return _finish(b, shell, content, "end_turn", n_blocks * 3)


def chunked(raw: bytes, size: int) -> list[bytes]:
    return [raw[i : i + size] for i in range(0, len(raw), size)]


# --- contenders -------------------------------------------------------------------------------

Runner = Callable[[list[bytes]], Any]
Normalizer = Callable[[Any], Any]


@dataclass
class Contender:
    name: str
    kind: str  # "sse": returns events; "message": returns the final message
    run: Runner
    normalize: Normalizer  # result -> list[(event, data)] or the message's API JSON
    note: str = ""


def _wire_sse(chunks: list[bytes]) -> list[wire.ServerSentEvent]:
    decoder = wire.SSEDecoder()
    events: list[wire.ServerSentEvent] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    decoder.close()
    return events


def _wire_message(chunks: list[bytes]) -> wire.Message | None:
    decoder = wire.MessageStreamDecoder()
    for chunk in chunks:
        decoder.feed(chunk)
    decoder.close()
    return decoder.message


def _wire_message_reads(chunks: list[bytes]) -> wire.Message | None:
    """`.message` read after every event, as a UI showing the reply so far would.

    The layers one by one (`MessageStreamDecoder.feed` applies a whole chunk's
    events before it returns, so reading after each of its calls reads once per chunk).
    """
    decoder = wire.SSEDecoder()
    accumulator = wire.MessageAccumulator()
    parse, feed = wire.parse_stream_event, accumulator.feed
    for chunk in chunks:
        for sse in decoder.feed(chunk):
            feed(parse(sse))
            accumulator.message  # noqa: B018 - the read is what is measured
    decoder.close()
    return accumulator.message


def _pairs(events: Any) -> list[tuple[str, str]]:
    return [(e.event or "message", e.data) for e in events]


def _wire_message_json(message: wire.Message | None) -> Any:
    return None if message is None else message.to_dict()


# Keys the SDK's accumulator sets on the final message although the stream never sent
# them (it copies `delta.stop_details`, None when absent, onto the snapshot). Tolerated in
# the check only with exactly this value and only when the expected message lacks the key;
# every such difference is reported.
SDK_INVENTED_KEYS = {"stop_details": None}


def _sdk_message_json(message: Any) -> Any:
    return message.to_dict(mode="json")  # the SDK's own API-JSON method (exclude_unset)


def load_contenders(notes: list[str]) -> tuple[list[Contender], list[str]]:
    """Every contender whose package imports; the names of those that do not."""
    contenders = [
        Contender("wire", "sse", _wire_sse, _pairs, "wire.SSEDecoder().feed()"),
        Contender(
            "wire",
            "message",
            _wire_message,
            _wire_message_json,
            "wire.MessageStreamDecoder().feed() + .message",
        ),
        Contender(
            "wire",
            "reads",
            _wire_message_reads,
            _wire_message_json,
            "wire SSEDecoder -> parse_stream_event -> MessageAccumulator, .message after "
            "every event",
        ),
    ]
    missing: list[str] = []

    try:
        import anthropic
        import anthropic._base_client
        from anthropic._streaming import SSEDecoder as SDKDecoder
    except ImportError:
        missing.append("anthropic (SDK)")
    else:
        # Use whichever httpx module the installed SDK itself uses.
        httpx_mod = getattr(anthropic._base_client, "httpx2", None) or getattr(
            anthropic._base_client, "httpx", None
        )
        version = importlib.metadata.version("anthropic")

        def sdk_sse(chunks: list[bytes]) -> list[Any]:
            return list(SDKDecoder().iter_bytes(iter(chunks)))

        contenders.append(
            Contender(
                SDK,
                "sse",
                sdk_sse,
                _pairs,
                f"anthropic {version} _streaming.SSEDecoder().iter_bytes()",
            )
        )
        if httpx_mod is None:
            notes.append("SDK full path skipped: cannot tell which httpx module the SDK uses")
        else:
            contenders.append(_sdk_message_contender(anthropic, httpx_mod, version, False))
            contenders.append(_sdk_message_contender(anthropic, httpx_mod, version, True))

    try:
        httpx_note = ""
        try:
            import httpx
        except ImportError:
            # httpx2 (which the SDK may use) can stand in for httpx process-wide.
            import httpx2

            httpx2.alias_httpx()
            import httpx

            httpx_note = " (httpx not installed: on httpx2 via httpx2.alias_httpx())"
        from httpx_sse import EventSource
    except ImportError:
        missing.append("httpx-sse")
    else:
        headers = {"content-type": "text/event-stream"}  # EventSource insists on it

        def httpx_sse_run(chunks: list[bytes]) -> list[Any]:
            response = httpx.Response(200, headers=headers, content=iter(chunks))
            return list(EventSource(response).iter_sse())

        contenders.append(
            Contender(
                "httpx-sse",
                "sse",
                httpx_sse_run,
                _pairs,
                f"httpx-sse {importlib.metadata.version('httpx-sse')} "
                f"EventSource(httpx.Response(...)).iter_sse(){httpx_note}",
            )
        )

    try:
        import sseclient
    except ImportError:
        missing.append("sseclient-py")
    else:

        def sseclient_run(chunks: list[bytes]) -> list[Any]:
            return list(sseclient.SSEClient(iter(chunks)).events())

        contenders.append(
            Contender(
                "sseclient-py",
                "sse",
                sseclient_run,
                _pairs,
                f"sseclient-py {importlib.metadata.version('sseclient-py')} "
                "SSEClient(iter(chunks)).events()",
            )
        )
    return contenders, missing


def _sdk_message_contender(anthropic: Any, httpx_mod: Any, version: str, reads: bool) -> Contender:
    current: list[list[bytes]] = [[]]

    def handler(request: Any) -> Any:
        return httpx_mod.Response(
            200, headers={"content-type": "text/event-stream"}, content=iter(current[0])
        )

    client = anthropic.Anthropic(
        api_key="x",
        max_retries=0,
        http_client=httpx_mod.Client(transport=httpx_mod.MockTransport(handler)),
    )
    request = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 8192,
        "messages": [{"role": "user", "content": "Tell me about the weather."}],
    }

    def run(chunks: list[bytes]) -> Any:
        current[0] = chunks
        with client.messages.stream(**request) as stream:
            return stream.get_final_message()

    def run_reads(chunks: list[bytes]) -> Any:
        current[0] = chunks
        with client.messages.stream(**request) as stream:
            for _ in stream:
                stream.current_message_snapshot  # noqa: B018 - the read is what is measured
            return stream.get_final_message()

    if reads:
        return Contender(
            SDK,
            "reads",
            run_reads,
            _sdk_message_json,
            f"anthropic {version} messages.stream(), current_message_snapshot after every "
            f"event, over {httpx_mod.__name__}.MockTransport",
        )
    return Contender(
        SDK,
        "message",
        run,
        _sdk_message_json,
        f"anthropic {version} messages.stream() + get_final_message() over "
        f"{httpx_mod.__name__}.MockTransport",
    )


# --- cases ------------------------------------------------------------------------------------


@dataclass
class Variant:
    label: str  # "1x", "2x"
    chunks: list[bytes]
    stream: Stream
    describe: str

    @property
    def nbytes(self) -> int:
        return len(self.stream.raw)

    @property
    def nevents(self) -> int:
        return len(self.stream.events)


@dataclass
class Group:
    name: str
    kind: str  # "sse" or "message"
    title: str
    make: Callable[[], list[Variant]]
    variants: list[Variant] = field(default_factory=list)


def _realistic(n: int, chunk: int) -> Callable[[], Variant]:
    def make() -> Variant:
        s = realistic_stream(n)
        return Variant("", chunked(s.raw, chunk), s, f"{n:,} deltas, {_chunk_label(chunk)}")

    return make


def _many_blocks(n: int) -> Callable[[], Variant]:
    def make() -> Variant:
        s = blocks_stream(n)
        return Variant("", chunked(s.raw, 16 * 1024), s, f"{n:,} small text blocks, 16 KiB chunks")

    return make


def _chunk_label(size: int) -> str:
    return f"{size // 1024} KiB chunks" if size >= 1024 else f"{size}-byte chunks"


def _variants(*makers: tuple[str, Callable[[], Variant]]) -> Callable[[], list[Variant]]:
    def make() -> list[Variant]:
        out = []
        for label, maker in makers:
            v = maker()
            v.label = label
            out.append(v)
        return out

    return make


def _big(size: int) -> Callable[[], Variant]:
    def make() -> Variant:
        s = big_event_stream(size)
        return Variant("", chunked(s.raw, 64), s, f"one {size // 2**20} MiB event, 64-byte chunks")

    return make


def _tool(size: int) -> Callable[[], Variant]:
    def make() -> Variant:
        s = tool_stream(size)
        return Variant(
            "",
            chunked(s.raw, 16 * 1024),
            s,
            f"~{size // 1000} KB tool input in ~10-char fragments, 16 KiB chunks",
        )

    return make


BASE_DELTAS = 2000
ONE_BYTE_DELTAS = 500  # 1-byte chunks are bound by per-call overhead: keep the run sane
BLOCKS = 2000

GROUPS = [
    Group(
        "a-sse",
        "sse",
        "(a) SSE decode, realistic stream, 16 KiB chunks",
        _variants(
            ("1x", _realistic(BASE_DELTAS, 16384)), ("2x", _realistic(2 * BASE_DELTAS, 16384))
        ),
    ),
    Group(
        "a-message",
        "message",
        "(a) bytes -> final message, realistic stream, 16 KiB chunks",
        _variants(
            ("1x", _realistic(BASE_DELTAS, 16384)), ("2x", _realistic(2 * BASE_DELTAS, 16384))
        ),
    ),
    Group(
        "b-1byte",
        "sse",
        "(b) SSE decode, realistic stream, 1-byte chunks",
        _variants(
            ("1x", _realistic(ONE_BYTE_DELTAS, 1)), ("2x", _realistic(2 * ONE_BYTE_DELTAS, 1))
        ),
    ),
    Group(
        "c-big-event",
        "sse",
        "(c) SSE decode, one huge event, 64-byte chunks",
        _variants(("1x", _big(2**20)), ("2x", _big(2 * 2**20))),
    ),
    Group(
        "d-tool-input",
        "message",
        "(d) bytes -> final message, streamed tool input",
        _variants(("1x", _tool(100_000)), ("2x", _tool(200_000))),
    ),
    Group(
        "e-text-reads",
        "reads",
        "(e) bytes -> message read after every event, realistic stream",
        _variants(
            ("1x", _realistic(BASE_DELTAS, 16384)), ("2x", _realistic(2 * BASE_DELTAS, 16384))
        ),
    ),
    Group(
        "f-tool-reads",
        "reads",
        "(f) bytes -> message read after every event, streamed tool input",
        _variants(("1x", _tool(100_000)), ("2x", _tool(200_000))),
    ),
    Group(
        "g-block-reads",
        "reads",
        "(g) bytes -> message read after every event, many small blocks",
        _variants(("1x", _many_blocks(BLOCKS)), ("2x", _many_blocks(2 * BLOCKS))),
    ),
]


# --- checking and timing -----------------------------------------------------------------------


def _first_difference(got: Any, want: Any, path: str = "") -> str:
    """A short description of where two JSON-like values first differ."""
    if type(got) is not type(want):
        return (
            f"{path or 'value'}: {type(got).__name__} {_short(got)} != "
            f"{type(want).__name__} {_short(want)}"
        )
    if isinstance(want, dict):
        extra = sorted(set(got) - set(want))
        lost = sorted(set(want) - set(got))
        if extra or lost:
            return f"{path or 'object'}: extra keys {extra}, missing keys {lost}"
        for key in want:
            if got[key] != want[key]:
                return _first_difference(got[key], want[key], f"{path}.{key}")
    if isinstance(want, list | tuple):
        if len(got) != len(want):
            return f"{path or 'list'}: length {len(got)} != {len(want)}"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            if g != w:
                return _first_difference(g, w, f"{path}[{i}]")
    if isinstance(want, str) and len(got) > 40 and len(want) > 40:
        at = next(
            (i for i, (g, w) in enumerate(zip(got, want, strict=False)) if g != w),
            min(len(got), len(want)),
        )
        return (
            f"{path or 'string'}: lengths {len(got)} / {len(want)}, first difference at "
            f"character {at}: {_short(got[at : at + 30])} != {_short(want[at : at + 30])}"
        )
    return f"{path or 'value'}: {_short(got)} != {_short(want)}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check(contender: Contender, variant: Variant) -> tuple[bool, str, float]:
    """Run once on the case's bytes; compare with the generator's answer.

    Returns (correct, what differs or a note, seconds the call took).
    """
    gc.collect()
    start = time.perf_counter()
    try:
        output = contender.run(variant.chunks)
    except Exception as exc:  # a crash is a wrong answer too
        return False, f"raised {type(exc).__name__}: {_short(str(exc))}", 0.0
    seconds = time.perf_counter() - start
    try:
        ok, note = _compare(contender, variant, output)
    except Exception as exc:  # an output that cannot even be read back is wrong too
        return False, f"output unreadable: {type(exc).__name__}: {_short(str(exc))}", 0.0
    return ok, note, seconds


def _compare(contender: Contender, variant: Variant, output: Any) -> tuple[bool, str]:
    got = contender.normalize(output)
    if contender.kind == "sse":
        want: Any = variant.stream.events
        return (True, "") if got == want else (False, _first_difference(got, want))
    want = variant.stream.message
    note = ""
    if contender.name == SDK and isinstance(got, dict):
        tolerated = []
        for key, value in SDK_INVENTED_KEYS.items():
            if key in got and key not in want and got[key] == value:
                del got[key]
                tolerated.append(f"{key}: {json.dumps(value)}")
        if tolerated:
            note = "SDK adds " + ", ".join(tolerated) + " (not in the stream); ignored"
    if got == want:
        return True, note
    return False, _first_difference(got, want)


def sample(run: Runner, chunks: list[bytes], min_seconds: float) -> float:
    """Seconds per call: repeat the call for at least `min_seconds`."""
    gc.collect()
    gc.freeze()
    perf = time.perf_counter
    calls = 0
    start = perf()
    while True:
        run(chunks)
        calls += 1
        elapsed = perf() - start
        if elapsed >= min_seconds:
            return elapsed / calls


@dataclass
class Result:
    group: str
    variant: str
    contender: str
    nbytes: int
    nevents: int
    samples: list[float] = field(default_factory=list)
    planned: int = 0  # samples to take (fewer than asked when one call is very slow)
    error: str = ""
    note: str = ""

    @property
    def best(self) -> float:
        return min(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


def run_group(
    group: Group,
    contenders: list[Contender],
    samples: int,
    min_seconds: float,
    budget: float,
    log: Callable[[str], None],
) -> list[Result]:
    mine = [c for c in contenders if c.kind == group.kind]
    results: list[Result] = []
    entries: list[tuple[Variant, Contender, Result]] = []
    for variant in group.variants:
        for contender in mine:
            result = Result(
                group.name, variant.label, contender.name, variant.nbytes, variant.nevents
            )
            ok, note, seconds = check(contender, variant)
            result.note = note
            per_sample = max(seconds, min_seconds)
            result.planned = max(1, min(samples, int(budget // per_sample)))
            if ok and result.planned < samples:
                log(
                    f"  {contender.name} on {group.name} {variant.label}: {seconds:.1f} s per call,"
                    f" {result.planned} sample(s) within the {budget:g} s budget"
                )
            if not ok:
                result.error = note
                log(f"  WRONG ANSWER {contender.name} on {group.name} {variant.label}: {note}")
            elif note:
                log(f"  note: {contender.name} on {group.name} {variant.label}: {note}")
            results.append(result)
            if ok:
                entries.append((variant, contender, result))
    for round_no in range(samples):
        shift = round_no % len(entries) if entries else 0
        for variant, contender, result in entries[shift:] + entries[:shift]:
            if len(result.samples) < result.planned:
                result.samples.append(sample(contender.run, variant.chunks, min_seconds))
        log(f"  round {round_no + 1}/{samples} done")
    return results


# --- reporting ---------------------------------------------------------------------------------


def _fmt_time(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:,.0f}" if ms >= 1000 else f"{ms:.3g}" if ms < 10 else f"{ms:.1f}"


def _ratio_vs_sdk(results: list[Result], r: Result) -> float | None:
    for other in results:
        if (other.group, other.variant, other.contender) == (r.group, r.variant, SDK):
            if other.samples and r.samples:
                return other.best / r.best
    return None


def _scaling(results: list[Result]) -> list[dict[str, Any]]:
    rows = []
    by_key = {(r.group, r.variant, r.contender): r for r in results}
    for r in results:
        if r.variant != "1x":
            continue
        two = by_key.get((r.group, "2x", r.contender))
        if two is None or not r.samples or not two.samples:
            continue
        rows.append(
            {
                "group": r.group,
                "contender": r.contender,
                "ratio_best": two.best / r.best,
                "ratio_median": two.median / r.median,
                "bytes_ratio": two.nbytes / r.nbytes,
            }
        )
    return rows


def report(
    results: list[Result],
    groups: list[Group],
    contenders_notes: list[str],
    missing: list[str],
    samples: int,
) -> dict[str, Any]:
    out = print
    out("")
    out(
        f"Results: best of {samples} samples (median beside it), each sample >= "
        f"{MIN_SAMPLE_SECONDS} s of repeated calls; x SDK = SDK time / contender time "
        "(same run; > 1 is faster)"
    )
    out(
        "best ms = milliseconds per call (per message for the message and reads cases); "
        "n = samples taken"
    )
    header = (
        f"{'case':<13} {'in':<3} {'contender':<13} {'n':>2} {'best ms':>9} "
        f"{'median ms':>10} {'MB/s':>8} {'events/s':>10} {'x SDK':>7}"
    )
    out(header)
    out("-" * len(header))
    rows = []
    for group in groups:
        for r in (r for r in results if r.group == group.name):
            ratio = _ratio_vs_sdk(results, r)
            if r.error:
                out(
                    f"{r.group:<13} {r.variant:<3} {r.contender:<13}    "
                    f"WRONG ANSWER, no figure: {r.error}"
                )
            elif not r.samples:
                continue
            else:
                mbs = r.nbytes / r.best / 1e6
                eps = r.nevents / r.best
                out(
                    f"{r.group:<13} {r.variant:<3} {r.contender:<13} {len(r.samples):>2} "
                    f"{_fmt_time(r.best):>9} "
                    f"{_fmt_time(r.median):>10} {mbs:>8.2f} {eps:>10,.0f} "
                    f"{'' if ratio is None else f'{ratio:.2f}x':>7}"
                )
            rows.append(
                {
                    "group": r.group,
                    "variant": r.variant,
                    "contender": r.contender,
                    "bytes": r.nbytes,
                    "events": r.nevents,
                    "error": r.error or None,
                    "note": r.note or None,
                    "samples_s": r.samples,
                    "best_s": r.best if r.samples else None,
                    "median_s": r.median if r.samples else None,
                    "mb_per_s": r.nbytes / r.best / 1e6 if r.samples else None,
                    "events_per_s": r.nevents / r.best if r.samples else None,
                    "ms_per_call": r.best * 1000 if r.samples else None,
                    "x_sdk": ratio,
                }
            )
    out("")
    out("Inputs:")
    for group in groups:
        for v in group.variants:
            out(
                f"  {group.name:<13} {v.label:<3} {v.nbytes:>10,} bytes {v.nevents:>6,} events "
                f"{len(v.chunks):>9,} chunks  {v.describe}"
            )
    scaling = _scaling(results)
    out("")
    out("Scaling time(2x)/time(1x), best (median); 2.0 is linear, ~4 quadratic:")
    for s in scaling:
        out(
            f"  {s['group']:<13} {s['contender']:<13} {s['ratio_best']:6.2f} "
            f"({s['ratio_median']:.2f})   input bytes ratio {s['bytes_ratio']:.2f}"
        )
    out("")
    out("Contenders:")
    for note in contenders_notes:
        out(f"  {note}")
    for name in missing:
        out(f"  {name}: not installed (skipped)")
    targets = _targets(results, scaling)
    out("")
    for t in targets:
        out(f"{t['status']:<4}  {t['target']}: {t['figure']}")
    return {"results": rows, "scaling": scaling, "targets": targets}


def _targets(results: list[Result], scaling: list[dict[str, Any]]) -> list[dict[str, Any]]:
    targets = []

    def vs_sdk(group: str, goal: float, title: str) -> None:
        wire_r = next(
            (r for r in results if (r.group, r.variant, r.contender) == (group, "1x", "wire")), None
        )
        sdk_r = next(
            (r for r in results if (r.group, r.variant, r.contender) == (group, "1x", SDK)), None
        )
        if wire_r is None:
            status, figure, value = "SKIP", f"case {group} not run", None
        elif wire_r.error:
            status, figure, value = "FAIL", f"wire gave a wrong answer ({wire_r.error})", None
        elif sdk_r is None or not sdk_r.samples:
            why = "gave a wrong answer" if sdk_r is not None else "not installed"
            status, figure, value = "SKIP", f"SDK {why}: no reference", None
        else:
            value = sdk_r.best / wire_r.best
            status = "PASS" if value >= goal else "FAIL"
            figure = (
                f"{value:.2f}x (wire {_fmt_time(wire_r.best)} ms, SDK {_fmt_time(sdk_r.best)} ms)"
            )
        targets.append({"target": title, "status": status, "figure": figure, "value": value})

    vs_sdk("a-sse", 3.0, "SSE decode >= 3x SDK on (a)")
    vs_sdk("a-message", 5.0, "bytes -> final message >= 5x SDK on (a)")
    mine = [s for s in scaling if s["contender"] == "wire"]
    wrong = [r for r in results if r.contender == "wire" and r.error]
    if wrong:
        status, figure, worst = (
            "FAIL",
            "wire gave a wrong answer on " + ", ".join(f"{r.group} {r.variant}" for r in wrong),
            None,
        )
    elif not mine:
        status, figure, worst = "SKIP", "no scaling pair run", None
    else:
        worst = max(s["ratio_best"] for s in mine)
        status = "PASS" if worst <= 2.2 else "FAIL"
        figure = (
            f"worst {worst:.2f} ("
            + ", ".join(f"{s['group']} {s['ratio_best']:.2f}" for s in mine)
            + ")"
        )
    targets.append(
        {
            "target": "every 2x/1x ratio <= 2.2 for wire",
            "status": status,
            "figure": figure,
            "value": worst,
        }
    )
    return targets


def _environment() -> dict[str, Any]:
    versions = {}
    for dist in ("anthropic", "httpx", "httpx2", "httpx-sse", "sseclient-py", "pydantic", "jiter"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "python": sys.version,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "wire": wire.__version__,
        "wire_source": _wire_source(),
        "packages": versions,
    }


def _wire_source() -> str:
    """The git commit of the wire being measured (+ "-dirty" for local edits), if known."""
    root = Path(wire.__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "wire"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return f"{root} (not a git checkout)"
    return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


# --- profiling -----------------------------------------------------------------------------------


def profile(groups: list[Group], top: int) -> None:
    """cProfile of wire on the 1x input of each case: MessageStreamDecoder on the message
    cases (reading .message after every event on the reads cases), SSEDecoder on the SSE
    cases (the figures carry cProfile's own overhead)."""
    runners = {
        "message": (_wire_message, "MessageStreamDecoder"),
        "reads": (_wire_message_reads, "MessageStreamDecoder (.message after every event)"),
        "sse": (_wire_sse, "SSEDecoder"),
    }
    for group in groups:
        variant = group.variants[0]
        run, what = runners[group.kind]
        calls = max(1, int(2_000_000 // variant.nbytes))
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(calls):
            run(variant.chunks)
        profiler.disable()
        buf = io.StringIO()
        stats = pstats.Stats(profiler, stream=buf)
        stats.sort_stats("tottime").print_stats(top)
        print(
            f"=== cProfile: wire.{what} on {group.name} {variant.label} "
            f"({variant.describe}), {calls} call(s), top {top} by tottime ==="
        )
        lines = buf.getvalue().splitlines()
        start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
        summary = next((line for line in lines if "function calls" in line), "")
        print(summary.strip())
        print("\n".join(line for line in lines[start:] if line.strip()))
        print("")


# --- main ---------------------------------------------------------------------------------


def _load() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # not available on this platform
        return None


def _select(names: list[str] | None) -> list[Group]:
    if not names:
        return list(GROUPS)
    chosen = []
    for group in GROUPS:
        letter = group.name.split("-")[0]
        if any(n in (group.name, letter) for n in names):
            chosen.append(group)
    unknown = [n for n in names if not any(n in (g.name, g.name.split("-")[0]) for g in GROUPS)]
    if unknown:
        valid = ", ".join(g.name for g in GROUPS)
        raise SystemExit(
            f"unknown case(s) {', '.join(unknown)}; choose from {valid} (or their letters a-g)"
        )
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_SAMPLES} samples per figure instead of {DEFAULT_SAMPLES}",
    )
    parser.add_argument("--samples", type=int, help="samples per figure (overrides --quick)")
    parser.add_argument(
        "--case",
        action="append",
        metavar="NAME",
        help="run only this case (repeatable): "
        + ", ".join(g.name for g in GROUPS)
        + ", or a letter a-g",
    )
    parser.add_argument(
        "--entry-budget",
        type=float,
        default=ENTRY_BUDGET_SECONDS,
        metavar="SECONDS",
        help="time allowed for one contender's samples on one input; slower "
        "contenders get fewer samples, at least 1 (default %(default)s)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="print a cProfile of wire on each selected case, then exit",
    )
    args = parser.parse_args(argv)
    samples = args.samples or (QUICK_SAMPLES if args.quick else DEFAULT_SAMPLES)
    groups = _select(args.case)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    started = time.perf_counter()
    load_before = _load()
    for group in groups:
        group.variants = group.make()
    if args.profile:
        profile(groups, 15)
        return 0

    notes: list[str] = []
    contenders, missing = load_contenders(notes)
    contender_notes = sorted({f"{c.name} ({c.kind}): {c.note}" for c in contenders}) + notes
    contender_notes.append(f"wire measured at {_wire_source()} ({Path(wire.__file__).parent})")
    for name in missing:
        log(f"{name}: not installed (skipped)")
    results: list[Result] = []
    for group in groups:
        log(f"{group.name}: {group.title}")
        results += run_group(group, contenders, samples, MIN_SAMPLE_SECONDS, args.entry_budget, log)
    gc.unfreeze()
    summary = report(results, groups, contender_notes, missing, samples)
    elapsed = time.perf_counter() - started
    load_after = _load()
    print(
        f"\ntotal run time {elapsed:.0f} s; 1-minute load average {load_before} at start, "
        f"{load_after} at end on {os.cpu_count()} CPUs (other work on the cores distorts "
        "the figures)"
    )
    if args.json:
        payload = {
            "method": {
                "samples": samples,
                "min_sample_seconds": MIN_SAMPLE_SECONDS,
                "entry_budget_s": args.entry_budget,
                "seed": SEED,
                "statistic": "best (and median) seconds per call",
            },
            "environment": _environment(),
            "inputs": [
                {
                    "group": g.name,
                    "variant": v.label,
                    "bytes": v.nbytes,
                    "events": v.nevents,
                    "chunks": len(v.chunks),
                    "describe": v.describe,
                }
                for g in groups
                for v in g.variants
            ],
            "missing": missing,
            "elapsed_s": elapsed,
            "load_average": [load_before, load_after],
            **summary,
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
