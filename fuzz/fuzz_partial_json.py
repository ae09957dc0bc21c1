#!/usr/bin/env python3
"""Fuzz `wire.PartialJSONParser`: fragmentation never matters, `json.loads` agrees, snapshots grow.

Input: see fuzz/_common.py (header, fragment sizes, then the text as UTF-8,
decoded with replacement); sizes count characters. Flags are unused.

Invariants checked on every input:
1. Fed whole, one character at a time, cut in two at every position (an even
   sample for long texts) and in the fuzzer's fragments, the final state is
   the same: `result()` (value, or the PartialJSONError text), `error`,
   `complete`, `started` and `snapshot()`.
2. `json.loads(text)` (NaN/Infinity rejected, as strict JSON does) decides:
   a dict -> `result()` equals it (types and key order included) and
   `complete` is True; anything else -> `result()` raises PartialJSONError.
   Deliberate exception: nesting deeper than the parser's `max_depth` (512)
   is an error even where `json.loads` manages it. (Integers over Python's
   4300-digit limit: both refuse, no exception needed.)
3. After every fragment: `snapshot()` never raises and returns a dict;
   `started` is True exactly once a non-whitespace character arrived; the
   snapshot equals that of a fresh parser fed the same prefix whole.
4. Monotone growth, by the module's documented rules (complete values only;
   a number at the very end shown as far as it is valid): for a valid object
   without duplicate keys, each snapshot with its trailing number removed
   ("stable part") grows into the next snapshot and into the final value --
   keys keep their order and only the last member of an open container may
   still change. (A duplicate key legitimately replaces a complete value, as
   `json.loads` does, so those objects skip this check.)
5. If `jiter` is importable: for a valid object, the snapshot after each
   fragment equals `jiter.from_json(prefix, partial_mode=True,
   allow_inf_nan=False)`. Known, justified differences are skipped (see
   `_jiter_known`); any other is reported as a failure.

Run: python fuzz/fuzz_partial_json.py -max_total_time=60 fuzz/seeds/json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

if not __package__:  # run as a script: import wire and fuzz from this checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import wire
from fuzz._common import chunks, fuzz_main, same, short, split_input, split_points
from wire._partial_json import DEFAULT_MAX_DEPTH

jiter: Any
try:
    import jiter
except ImportError:  # optional comparison
    jiter = None

SPLIT_LIMIT = 64
"""Texts up to this long are cut in two at every position; longer ones at a sample."""
SNAPSHOT_LIMIT = 160
"""At most this many fragment boundaries get the per-snapshot checks (an even sample)."""
FRESH_LIMIT = 40
"""Of those, at most this many also re-parse the prefix whole (an even sample)."""
PER_CHAR_LIMIT = 400
"""Texts up to this long also get the per-snapshot checks after every character."""

_WS = " \t\n\r"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class Oracle:
    """What `json.loads` makes of the text, adjusted by the parser's documented limits."""

    def __init__(self, text: str) -> None:
        self.duplicate_keys = False
        self.value: Any = None
        self.is_object = False
        try:
            value = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=self._pairs)
        except (ValueError, RecursionError):
            return  # RecursionError: nested ~1000 deep, already past max_depth
        if type(value) is dict and nesting_depth(text) <= DEFAULT_MAX_DEPTH:
            self.value = value
            self.is_object = True

    def _pairs(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        d = dict(pairs)
        if len(d) != len(pairs):
            self.duplicate_keys = True
        return d


def nesting_depth(text: str) -> int:
    """The deepest bracket nesting outside strings."""
    if text.count("[") + text.count("{") <= DEFAULT_MAX_DEPTH:
        return 0  # cannot be deeper than the limit
    depth = deepest = 0
    in_string = escape = False
    for c in text:
        if in_string:
            if escape:
                escape = False
            elif c == "\\":
                escape = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest


def final_state(parser: wire.PartialJSONParser) -> tuple[Any, ...]:
    try:
        result: tuple[str, Any] = ("result", parser.result())
    except wire.PartialJSONError as exc:
        result = ("PartialJSONError", str(exc))
    return (result, parser.error, parser.complete, parser.started, _snapshot(parser, ""))


def _snapshot(parser: wire.PartialJSONParser, prefix: str) -> dict[str, Any]:
    try:
        snap = parser.snapshot()
    except Exception as exc:
        raise AssertionError(
            f"snapshot() raised {exc!r:.300} after {len(prefix)} chars\n  prefix {short(prefix)}"
        ) from exc
    assert type(snap) is dict, f"snapshot() returned {type(snap).__name__}"
    return snap


def feed_all(fragments: list[str]) -> wire.PartialJSONParser:
    parser = wire.PartialJSONParser()
    for fragment in fragments:
        parser.feed(fragment)
    return parser


def stable(value: Any) -> Any:
    """The snapshot without the number at the very end of its last path (it may still grow)."""
    path = []  # the non-empty containers along the last path
    node = value
    while (type(node) is dict or type(node) is list) and node:
        path.append(node)
        node = node[next(reversed(node))] if type(node) is dict else node[-1]
    if not path or type(node) not in (int, float):
        return value
    child = _replace_last(path.pop(), _MISSING)
    while path:
        child = _replace_last(path.pop(), child)
    return child


_MISSING: Any = object()


def _replace_last(container: Any, value: Any) -> Any:
    """A copy of `container` whose last member is `value` (or dropped, for _MISSING)."""
    if type(container) is dict:
        out = dict(container)
        last = next(reversed(out))
        if value is _MISSING:
            del out[last]
        else:
            out[last] = value
        return out
    return container[:-1] if value is _MISSING else [*container[:-1], value]


def grows_into(a: Any, b: Any) -> bool:
    """`b` extends `a`: same keys/items in order, all equal but the last, which grows too."""
    while True:
        if type(a) is dict:
            if type(b) is not dict:
                return False
            keys = list(a)
            if keys != list(b)[: len(keys)]:
                return False
            if not all(same(a[k], b[k]) for k in keys[:-1]):
                return False
            if not keys:
                return True
            a, b = a[keys[-1]], b[keys[-1]]
        elif type(a) is list:
            if type(b) is not list or len(a) > len(b):
                return False
            if not all(same(x, y) for x, y in zip(a[:-1], b, strict=False)):
                return False
            if not a:
                return True
            a, b = a[-1], b[len(a) - 1]
        else:
            return same(a, b)


def _has_lone_surrogate(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _jiter_known(prefix: str, oracle: Oracle) -> bool:
    """Differences from jiter that are by design, not wire bugs.

    - An empty or all-whitespace prefix: jiter raises "EOF while parsing a
      value"; wire's snapshot is {} before anything arrives (documented).
    - A lone surrogate escape such as "\\ud800": jiter refuses it, json.loads
      (and so wire, which must equal json.loads) accepts it.
    - Nesting deeper than jiter's recursion limit (about 200; wire's is 512):
      jiter raises "recursion limit exceeded" (see `check_jiter`).
    """
    return not prefix.strip(_WS) or _has_lone_surrogate(oracle.value)


def check_jiter(prefix: str, snap: dict[str, Any], oracle: Oracle) -> None:
    assert jiter is not None
    if _jiter_known(prefix, oracle):
        return
    try:
        theirs = jiter.from_json(
            prefix.encode("utf-8", "surrogatepass"), partial_mode=True, allow_inf_nan=False
        )
    except ValueError as exc:
        if "recursion limit exceeded" in str(exc):
            return  # known: see _jiter_known
        raise AssertionError(
            f"jiter refused a prefix of a valid object: {exc}\n  prefix {short(prefix)}\n"
            f"  wire {short(snap)}"
        ) from exc
    assert same(snap, theirs), (
        f"snapshot differs from jiter partial_mode\n  prefix {short(prefix)}\n"
        f"  wire {short(snap)}\n  jiter {short(theirs)}"
    )


def check_fragments(fragments: list[str], oracle: Oracle, limit: int) -> wire.PartialJSONParser:
    """Feed fragments; after (a sample of) each, check invariants 3-5."""
    parser = wire.PartialJSONParser()
    ends: list[int] = []
    pos = 0
    for fragment in fragments:
        pos += len(fragment)
        ends.append(pos)
    checked = set(split_points(len(fragments), limit)) if len(fragments) > limit else None
    fresh_at = set(split_points(len(fragments), FRESH_LIMIT))
    monotone = oracle.is_object and not oracle.duplicate_keys
    text = "".join(fragments)
    previous: Any = {}
    for n, fragment in enumerate(fragments, 1):
        parser.feed(fragment)
        if checked is not None and n not in checked:
            continue
        prefix = text[: ends[n - 1]]
        snap = _snapshot(parser, prefix)
        assert parser.started == bool(prefix.strip(_WS)), (
            f"started={parser.started} after {short(prefix)}"
        )
        if n in fresh_at:
            fresh = _snapshot(feed_all([prefix]), prefix)
            assert same(snap, fresh), (
                f"snapshot depends on how the prefix was cut\n  prefix {short(prefix)}\n"
                f"  fragments {short(fragments[:n])}\n  got {short(snap)}\n"
                f"  whole {short(fresh)}"
            )
        if monotone:
            assert grows_into(stable(previous), snap), (
                f"a complete value disappeared or changed\n  prefix {short(prefix)}\n"
                f"  before {short(previous)}\n  now {short(snap)}"
            )
            assert grows_into(stable(snap), oracle.value), (
                f"snapshot is not part of the final value\n  prefix {short(prefix)}\n"
                f"  snapshot {short(snap)}\n  final {short(oracle.value)}"
            )
            if jiter is not None:
                check_jiter(prefix, snap, oracle)
        previous = snap
    return parser


def check(data: bytes) -> None:
    fuzz = split_input(data)
    text = fuzz.payload.decode("utf-8", "replace")
    oracle = Oracle(text)

    # 2. json.loads decides.
    whole = feed_all([text])
    state = final_state(whole)
    if oracle.is_object:
        assert state[0][0] == "result", f"result() refused a valid object\n  text {short(text)}"
        assert same(state[0][1], oracle.value), (
            f"result() differs from json.loads\n  text {short(text)}\n  wire {short(state[0])}\n"
            f"  json {short(oracle.value)}"
        )
        assert whole.complete, "complete is False for a valid object"
        assert whole.error is None, f"error set for a valid object: {whole.error}"
    else:
        assert state[0][0] == "PartialJSONError", (
            f"result() accepted what json.loads refuses (or not an object)\n"
            f"  text {short(text)}\n  wire {short(state[0])}"
        )
        assert not whole.complete, "complete is True for an invalid text"

    # 1 and 3-5. Fragmentations.
    fragment_sets = [chunks(text, fuzz.sizes)]
    if len(text) <= PER_CHAR_LIMIT:
        fragment_sets.append(list(text))
    for fragments in fragment_sets:
        parser = check_fragments(fragments, oracle, SNAPSHOT_LIMIT)
        got = final_state(parser)
        assert same(got, state), (
            f"final state depends on fragmentation\n  text {short(text)}\n"
            f"  fragments {short(fragments)}\n  got {short(got)}\n  whole {short(state)}"
        )
    if len(text) > PER_CHAR_LIMIT:
        got = final_state(feed_all(list(text)))
        assert same(got, state), f"one char at a time differs\n  text {short(text)}"
    for i in split_points(len(text), SPLIT_LIMIT):
        got = final_state(feed_all([text[:i], text[i:]]))
        assert same(got, state), (
            f"final state depends on a cut at {i}\n  text {short(text)}\n"
            f"  got {short(got)}\n  whole {short(state)}"
        )


if __name__ == "__main__":
    fuzz_main("fuzz.fuzz_partial_json")
