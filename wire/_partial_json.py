"""Incremental parsing of a JSON object that arrives in fragments (tool input).

Layer: core (stdlib only). Rule: every character is examined a bounded number
of times, however the text is cut: no fragment ever causes a re-parse of what
came before, so a stream's total cost is linear in its length.

`snapshot()` is the best parse so far, with complete values only: a string
still open is left out (with its key), as are a key without its value and an
unfinished `true`/`false`/`null`; a number at the very end is shown as far as
it is a valid number (`12` -> 12, `1.` -> left out). These are the official
SDK's partial-mode rules. Objects and arrays still open are shown with their
complete members.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ._errors import InvalidParameterError, PartialJSONError

__all__ = ["DEFAULT_MAX_DEPTH", "PartialJSONError", "PartialJSONParser"]

# json.loads itself gives up near a depth of 1,000 (the interpreter's recursion
# limit), and deep values cannot be copied or printed either; real tool input
# nests a handful of levels.
DEFAULT_MAX_DEPTH = 512

_scanstring = json.decoder.scanstring  # type: ignore[attr-defined]
_STRING_SPECIAL = re.compile(r'["\\]')
_NUMBER_CHARS = re.compile(r"[-+0-9.eE]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_LETTERS = re.compile(r"[a-z]*")
_LITERALS: dict[str, Any] = {"true": True, "false": False, "null": None}

# What the parser expects next.
_VALUE = 0  # a value (after ':' or ',' in an array); at the root, '{'
_FIRST_VALUE = 1  # after '[': a value or ']'
_FIRST_KEY = 2  # after '{': a key or '}'
_KEY = 3  # after ',' in an object
_COLON = 4
_AFTER_VALUE = 5  # ',' or the closing bracket
_DONE = 6  # the root object is closed: only whitespace may follow
# Where a string may start: a value (the first two) or a key (the last two, >= _FIRST_KEY).
_STRING_EXPECTED = frozenset((_VALUE, _FIRST_VALUE, _FIRST_KEY, _KEY))

# A token in progress at the end of a fragment.
_NONE = 0
_STRING = 1
_NUMBER_TOKEN = 2
_LITERAL = 3

# A token that goes on across fragments keeps them as pieces, joined in runs of this many.
_JOIN_EVERY = 256

_WHITESPACE = frozenset(" \t\n\r")
_NUMBER_START = frozenset("-0123456789")


class PartialJSONParser:
    """Feed fragments of one JSON object; read `snapshot()` at any time, `result()` at the end.

    A syntax error does not raise from `feed()`: the parser stops there, keeps
    its best parse, and records the reason in `error`; `result()` raises it.
    """

    def __init__(self, *, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        self.max_depth = max_depth
        self.error: str | None = None
        self._root: dict[str, Any] | None = None
        self._stack: list[Any] = []  # open containers, outermost first
        self._keys: list[str | None] = []  # each open object's current key
        self._expect = _VALUE
        self._token = _NONE
        self._pieces: list[str] = []  # text of the token in progress
        self._join_at = _JOIN_EVERY  # join pieces when there are this many
        self._is_key = False  # the string in progress is a key
        self._escape = False  # the string in progress ended on a backslash
        self._offset = 0  # characters consumed before the current fragment
        self._seen = False  # any non-whitespace seen
        # The snapshot's value can change only when a value is attached, a container
        # opens, a number or literal grows, or an error drops the one in progress:
        # each bumps `_version`. Text inside an open string never does.
        self._version = 0
        self._snapshot: dict[str, Any] = {}
        self._snapshot_version = -1

    @property
    def started(self) -> bool:
        """True once any non-whitespace character arrived."""
        return self._seen

    @property
    def complete(self) -> bool:
        """True when the root object is closed and no error occurred."""
        return self._expect == _DONE and self.error is None

    def feed(self, text: str) -> None:
        """Take the next fragment (`str`: an `input_json_delta`'s `partial_json`)."""
        if type(text) is not str:
            text = _as_text(text)
        if self.error is not None or not text:
            return
        try:
            self._feed(text)
        finally:
            self._offset += len(text)

    def result(self) -> dict[str, Any]:
        """The whole object; raises `PartialJSONError` unless one complete object arrived."""
        if self.error is not None:
            raise PartialJSONError(self.error)
        if self._expect != _DONE or self._root is None:
            if not self._seen:
                raise PartialJSONError("no JSON arrived")
            raise PartialJSONError(f"the object is incomplete after {self._offset} characters")
        return self._root

    def snapshot(self) -> dict[str, Any]:
        """The best parse so far (complete values only; see the module docstring).

        An immutable value: the parser never changes a snapshot it handed out.
        Complete (closed) values are shared with the parser and with later
        snapshots; only the open containers on the path to the end are copied,
        and only when the value changed since the last call (otherwise the same
        object comes back). Treat the result as read-only.
        """
        if self._root is None:
            return {}
        stack = self._stack
        if not stack:
            return self._root
        if self._snapshot_version == self._version:
            return self._snapshot
        child: Any = _MISSING
        pending = self._pending_scalar()
        for depth in range(len(stack) - 1, -1, -1):
            container = stack[depth]
            if type(container) is dict:
                copy: Any = dict(container)
                key = self._keys[depth]
                if child is not _MISSING:
                    copy[key] = child
                elif pending is not _MISSING and key is not None:
                    copy[key] = pending
            else:
                copy = list(container)
                if child is not _MISSING:
                    copy[-1] = child
                elif pending is not _MISSING:
                    copy.append(pending)
            child = copy
        result: dict[str, Any] = child
        self._snapshot = result
        self._snapshot_version = self._version
        return result

    # -- internals ---------------------------------------------------------------

    def _pending_scalar(self) -> Any:
        """The number or literal in progress at the end, when it already reads as one."""
        if self._token == _NUMBER_TOKEN:
            text = "".join(self._pieces)
            if _NUMBER.fullmatch(text):
                try:
                    return _number(text)
                except ValueError:  # more digits than Python converts: left out
                    return _MISSING
        elif self._token == _LITERAL:
            text = "".join(self._pieces)
            if text in _LITERALS:
                return _LITERALS[text]
        return _MISSING

    def _fail(self, reason: str, at: int) -> None:
        self.error = f"at character {self._offset + at}: {reason}"
        self._version += 1  # a number or literal in progress is no longer shown

    def _feed(self, text: str) -> None:
        n = len(text)
        i = 0
        if self._token == _STRING:
            i = self._string_rest(text, 0)
        elif self._token != _NONE:
            i = self._scalar_rest(text, 0)
        while i < n and self.error is None:
            c = text[i]
            if c in _WHITESPACE:
                i += 1
                continue
            self._seen = True
            if c == '"':
                if self._expect in _STRING_EXPECTED and self._stack:
                    self._is_key = self._expect >= _FIRST_KEY
                    i = self._string_start(text, i + 1)
                else:
                    self._bad_quote(i)
            elif c == ",":
                if self._expect != _AFTER_VALUE:
                    self._fail("unexpected ','", i)
                    return
                self._expect = _KEY if type(self._stack[-1]) is dict else _VALUE
                i += 1
            elif c == ":":
                if self._expect != _COLON:
                    self._fail("unexpected ':'", i)
                    return
                self._expect = _VALUE
                i += 1
            elif c == "}" or c == "]":
                self._close(c, i)
                i += 1
            elif c == "{" or c == "[":
                self._open_char(c, i)
                i += 1
            else:
                i = self._scalar_start(text, c, i)

    def _bad_quote(self, i: int) -> None:
        """A '"' at `i` where no string may start."""
        if not self._stack and self._expect == _VALUE:
            self._fail("the input must be a JSON object", i)
        else:
            self._fail("unexpected '\"'", i)

    def _open_char(self, c: str, i: int) -> None:
        """A '{' or '[' at `i`."""
        if self._expect not in (_VALUE, _FIRST_VALUE):
            self._fail(f"unexpected {c!r}", i)
        else:
            self._open({} if c == "{" else [], i)

    def _close(self, c: str, i: int) -> None:
        """A '}' or ']' at `i`: the innermost container closes (its snapshot value is unchanged)."""
        if not self._stack:
            self._fail(f"unexpected {c!r}", i)
            return
        expect = self._expect
        if type(self._stack[-1]) is dict:
            ok = c == "}" and (expect in (_FIRST_KEY, _AFTER_VALUE))
        else:
            ok = c == "]" and (expect in (_FIRST_VALUE, _AFTER_VALUE))
        if not ok:
            self._fail(f"unexpected {c!r}", i)
            return
        self._stack.pop()
        self._keys.pop()
        self._expect = _AFTER_VALUE if self._stack else _DONE

    def _scalar_start(self, text: str, c: str, i: int) -> int:
        """Any other character at `i`: a number or literal starts, or the text is not JSON."""
        if (
            (self._expect in (_VALUE, _FIRST_VALUE))
            and self._stack
            and (c in _NUMBER_START or c == "t" or c == "f" or c == "n")
        ):
            self._token = _NUMBER_TOKEN if c in _NUMBER_START else _LITERAL
            self._pieces = []
            self._join_at = _JOIN_EVERY
            return self._scalar_rest(text, i)
        if not self._stack and self._expect == _VALUE:
            self._fail("the input must be a JSON object", i)
        else:
            self._fail(f"unexpected {c!r}", i)
        return i

    def _open(self, container: Any, at: int) -> None:
        if len(self._stack) >= self.max_depth:
            self._fail(f"nested deeper than max_depth={self.max_depth}", at)
            return
        if not self._stack:
            if type(container) is not dict:
                self._fail("the input must be a JSON object", at)
                return
            self._root = container
            self._version += 1
        else:
            self._attach(container)
        self._stack.append(container)
        self._keys.append(None)
        self._expect = _FIRST_KEY if type(container) is dict else _FIRST_VALUE

    def _attach(self, value: Any) -> None:
        self._version += 1
        parent = self._stack[-1]
        if type(parent) is dict:
            parent[self._keys[-1]] = value
        else:
            parent.append(value)

    def _value(self, value: Any) -> None:
        self._attach(value)
        self._expect = _AFTER_VALUE

    def _string_start(self, text: str, i: int) -> int:
        """Parse a string whose opening quote ended at `i`; return where parsing resumes."""
        if text.find('"', i) >= 0:  # else it is surely open: skip the scanner's costly error
            try:
                value, end = _scanstring(text, i, True)
            except ValueError:
                pass
            else:
                self._string_done(value)
                return int(end)
        # Not closed in this fragment (or invalid: the final decode will say).
        self._token = _STRING
        self._pieces = []
        self._join_at = _JOIN_EVERY
        self._escape = False
        return self._string_rest(text, i)

    def _string_rest(self, text: str, i: int) -> int:
        """Continue a string across fragments: find its closing quote, skipping escapes."""
        n = len(text)
        start = i
        if self._escape:
            if i >= n:
                return n
            i += 1
            self._escape = False
        while True:
            m = _STRING_SPECIAL.search(text, i)
            if m is None:
                pieces = self._pieces
                pieces.append(text[start:])
                if len(pieces) >= self._join_at:
                    self._join()
                return n
            j = m.start()
            if text[j] == "\\":
                if j + 1 >= n:
                    self._pieces.append(text[start:])
                    if len(self._pieces) >= self._join_at:
                        self._join()
                    self._escape = True
                    return n
                i = j + 2
                continue
            self._pieces.append(text[start:j])
            raw = "".join(self._pieces)
            self._pieces = []
            self._token = _NONE
            try:
                value, _ = _scanstring(raw + '"', 0, True)
            except ValueError as exc:
                self._fail(f"invalid string: {exc}", j)
                return n
            self._string_done(value)
            return j + 1

    def _join(self) -> None:
        """Join the last `_JOIN_EVERY` pieces of the token in progress into one.

        Each character is copied once more, and a token cut into tiny fragments
        holds about a byte per character instead of a string object per fragment.
        """
        pieces = self._pieces
        pieces[-_JOIN_EVERY:] = ["".join(pieces[-_JOIN_EVERY:])]
        self._join_at = len(pieces) + _JOIN_EVERY

    def _string_done(self, value: str) -> None:
        if self._is_key:
            self._keys[-1] = value
            self._expect = _COLON
        else:
            self._value(value)

    def _scalar_rest(self, text: str, i: int) -> int:
        """Continue a number or literal; it ends at the first character that cannot extend it."""
        self._version += 1  # the token shown at the end may change
        pattern = _NUMBER_CHARS if self._token == _NUMBER_TOKEN else _LETTERS
        end = pattern.match(text, i).end()  # type: ignore[union-attr]
        self._pieces.append(text[i:end])
        if end >= len(text):
            if len(self._pieces) >= self._join_at:
                self._join()
            return end  # may continue in the next fragment
        token = "".join(self._pieces)
        self._pieces = []
        kind, self._token = self._token, _NONE
        if kind == _NUMBER_TOKEN:
            if not _NUMBER.fullmatch(token):
                self._fail(f"invalid number {token[:40]!r}", end)
                return len(text)
            try:
                value = _number(token)
            except ValueError as exc:
                self._fail(f"invalid number: {exc}", end)
                return len(text)
        elif token in _LITERALS:
            value = _LITERALS[token]
        else:
            self._fail(f"invalid literal {token[:40]!r}", end)
            return len(text)
        self._value(value)
        return end


class _Missing:
    __slots__ = ()


_MISSING: Any = _Missing()


def _number(text: str) -> int | float:
    """The value `json.loads` gives a JSON number (int unless it has a fraction or exponent)."""
    if "." in text or "e" in text or "E" in text:
        return float(text)
    return int(text)


def _as_text(text: object) -> str:
    """A `str` subclass as `str`; anything else refused (bytes would fail later, unrelatedly)."""
    if isinstance(text, str):
        return str(text)
    kind = type(text).__name__
    if isinstance(text, bytes | bytearray | memoryview):
        fix = "decode it first: fragment.decode('utf-8')"
    else:
        fix = "pass each input_json_delta's partial_json"
    raise InvalidParameterError("text", f"PartialJSONParser.feed() takes str, not {kind}: {fix}")
