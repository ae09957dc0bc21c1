"""The incremental tool-input parser: snapshots, final result, errors, linearity of design."""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wire import PartialJSONError, PartialJSONParser
from wire.testing.strategies import json_objects


def feed_all(pieces: list[str]) -> PartialJSONParser:
    parser = PartialJSONParser()
    for piece in pieces:
        parser.feed(piece)
    return parser


@pytest.mark.parametrize(
    ("prefix", "snapshot"),
    [
        ("", {}),
        ("  ", {}),
        ("{", {}),
        ('{"a', {}),
        ('{"a"', {}),
        ('{"a":', {}),
        ('{"a": "Par', {}),  # an open string is left out with its key
        ('{"a": "Paris"', {"a": "Paris"}),
        ('{"a": 12', {"a": 12}),  # a number at the end shows as far as it is valid
        ('{"a": 1.', {}),
        ('{"a": -', {}),
        ('{"a": 1e', {}),
        ('{"a": 1e5', {"a": 100000.0}),
        ('{"a": tru', {}),
        ('{"a": true', {"a": True}),
        ('{"a": nul', {}),
        ('{"a": {', {"a": {}}),
        ('{"a": {"b": 1, "c": "x', {"a": {"b": 1}}),
        ('{"a": [1, "x', {"a": [1]}),
        ('{"a": [1, {', {"a": [1, {}]}),
        ('{"a": [1, 2', {"a": [1, 2]}),
        ('{"a": "q\\"', {}),
        ('{"a": "q\\"x"', {"a": 'q"x'}),
        ('{"a": 1}', {"a": 1}),
    ],
)
def test_snapshot_of_a_prefix(prefix: str, snapshot: dict[str, Any]) -> None:
    assert feed_all([prefix]).snapshot() == snapshot
    # ...and the same when the prefix arrives one character at a time.
    assert feed_all(list(prefix)).snapshot() == snapshot


def test_result_of_a_complete_object() -> None:
    text = '{"location": "São Paulo \\u00e9\\ud83c\\udf24", "days": [1, 2.5, -3e2], "x": null}'
    parser = feed_all([text[i : i + 3] for i in range(0, len(text), 3)])
    assert parser.complete
    assert parser.result() == json.loads(text)


def test_trailing_whitespace_is_fine() -> None:
    assert feed_all(['{"a": 1}', "  \n"]).result() == {"a": 1}


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}}',  # the official SDK would silently return {"a": 1}
        '{"a": 1} x',
        "[1, 2]",  # not an object
        '"str"',
        "12",
        '{"a": 01}',
        '{"a": 1.}',
        '{"a": tru}',
        '{"a": NaN}',
        '{"a" 1}',
        '{"a": 1,}',
        "{,}",
        '{"a": "\\x"}',
        '{"a": "tab\there"}',  # raw control characters are not JSON
        '{"a": [1, 2}',
        '{"a": 1',  # incomplete
        "",
    ],
)
def test_anything_but_one_complete_object_fails_at_the_end(text: str) -> None:
    parser = feed_all([text])
    with pytest.raises(PartialJSONError):
        parser.result()
    parser = feed_all(list(text))
    with pytest.raises(PartialJSONError):
        parser.result()


def test_error_keeps_the_best_parse() -> None:
    parser = feed_all(['{"a": 1, "b": [true]', ", ]"])
    assert parser.error is not None
    assert parser.snapshot() == {"a": 1, "b": [True]}


def test_nesting_limit() -> None:
    parser = PartialJSONParser(max_depth=3)
    parser.feed('{"a": {"b": {"c": {}}}}')
    assert parser.error is not None
    assert "max_depth" in parser.error


def test_snapshot_is_a_copy_of_open_containers() -> None:
    parser = feed_all(['{"a": [1'])
    first = parser.snapshot()
    parser.feed(", 2]")
    assert first == {"a": [1]}
    assert parser.snapshot() == {"a": [1, 2]}


def test_long_string_across_many_fragments() -> None:
    value = 'ab\\"c' * 20_000
    text = '{"s": "' + value + '"}'
    parser = feed_all([text[i : i + 7] for i in range(0, len(text), 7)])
    assert parser.result() == json.loads(text)


_DUMPS_STYLES = st.sampled_from(
    [
        {"separators": (",", ":")},
        {"separators": (", ", ": ")},
        {"indent": 2},
        {"ensure_ascii": False},
    ]
)


@given(json_objects(), _DUMPS_STYLES, st.data())
def test_any_fragmentation_gives_json_loads(
    value: dict[str, Any], style: dict[str, Any], data: st.DataObject
) -> None:
    text = json.dumps(value, **style)
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=30))
    points = [0, *sorted(cuts), len(text)]
    parser = PartialJSONParser()
    for a, b in pairwise(points):
        parser.feed(text[a:b])
        parser.snapshot()  # never raises, at any point
    assert parser.result() == json.loads(text)


@given(json_objects(), st.data())
def test_snapshots_only_grow_by_complete_values(value: dict[str, Any], data: st.DataObject) -> None:
    """Every key in a snapshot of a valid stream holds its final value, or a prefix of it."""
    text = json.dumps(value)
    cut = data.draw(st.integers(0, len(text)))
    snap = feed_all([text[:cut]]).snapshot()
    assert _is_prefix_of(snap, value)


def _is_prefix_of(partial: Any, final: Any) -> bool:
    if isinstance(partial, dict):
        return isinstance(final, dict) and all(
            k in final and _is_prefix_of(v, final[k]) for k, v in partial.items()
        )
    if isinstance(partial, list):
        return (
            isinstance(final, list)
            and len(partial) <= len(final)
            and all(_is_prefix_of(p, f) for p, f in zip(partial, final, strict=False))
        )
    if isinstance(partial, (int, float)) and not isinstance(partial, bool):
        # A number at the very end may still grow (12 -> 123): only its kind is fixed.
        return isinstance(final, (int, float)) and not isinstance(final, bool)
    return bool(partial == final)


@given(json_objects(), st.data())
def test_snapshots_match_the_official_sdk_partial_mode(
    value: dict[str, Any], data: st.DataObject
) -> None:
    jiter_module = pytest.importorskip("jiter")
    text = json.dumps(value, ensure_ascii=data.draw(st.booleans()))
    cut = data.draw(st.integers(0, len(text)))
    ours = feed_all([text[:cut]]).snapshot()
    theirs = jiter_module.from_json(text[:cut].encode(), partial_mode=True) if cut else {}
    assert ours == theirs


def test_a_token_in_tiny_fragments_is_kept_compactly() -> None:
    """Pieces of an open string are joined as they come: ~1 byte per character is held,
    not a string object (~50 bytes) per fragment."""
    import tracemalloc

    body = "".join(chr(97 + i % 26) for i in range(200_000))
    fragments = [body[i : i + 2] for i in range(0, len(body), 2)]  # distinct objects
    parser = PartialJSONParser()
    parser.feed('{"s": "')
    tracemalloc.start()
    try:
        for fragment in fragments:
            parser.feed(fragment)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held < 3 * len(body), held
    parser.feed('", "n": ')
    for digit in "1" * 1000 + ".5":  # a number in 1-character fragments, likewise
        parser.feed(digit)
    parser.feed("}")
    assert parser.result() == {"s": body, "n": float("1" * 1000 + ".5")}
