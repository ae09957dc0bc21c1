"""Finding secrets in recorded bytes however a client encoded them (`CaptureWriter`'s redaction).

A key reaches a recording literally, percent-encoded (a query string or a form body:
`%2D` or `%2d` for `-`, `+` for a space) or JSON-escaped (`\\u002d`, `\\/`), any subset
of its characters so. `Redactor` decodes each such view of the bytes the way a reader
would (greedily, as `urllib.parse.unquote_to_bytes`, `unquote_plus` and `json.loads`
do), finds every secret in each view and maps each find back to the source bytes,
which the writer then masks.

Work is linear in the bytes: one regular-expression pass per view and one `bytes.find`
pass per secret, for at most `MAX_SECRETS` secrets of at most `MAX_SECRET_BYTES`.
`work` counts the bytes examined, so tests can prove that without a clock.

Layer: testing kit; standard library only.
"""

from __future__ import annotations

import contextlib
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator

__all__ = ["MAX_SECRETS", "MAX_SECRET_BYTES", "Redactor"]

#: The most distinct secrets one writer tracks (a recording session uses a few keys).
MAX_SECRETS = 64
#: The longest secret tracked, in UTF-8 bytes (API keys are about 100; tokens a few KiB).
MAX_SECRET_BYTES = 4096
# The most source bytes one secret byte takes when encoded (`\u002d`: six), and the
# longest token a view decodes (a surrogate pair, `\ud83d\ude00`: twelve).
_WIDEST = 6
_TOKEN = 12
# Past this many failed candidates for one secret, a tail is held without checking more.
_CHECKS = 8

_PERCENT = re.compile(rb"%[0-9A-Fa-f]{2}")
_FORM = re.compile(rb"%[0-9A-Fa-f]{2}|\+")
_JSON = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"  # a surrogate pair
    rb'|\\u[0-9A-Fa-f]{4}|\\["\\/bfnrt]'
)
_SHORT = {ord(k): v for k, v in zip('"\\/bfnrt', '"\\/\b\f\n\r\t', strict=True)}
# An end that the next bytes may turn into a token: `%`, `%2`, `\`, `\u00`, `\ud83d\u`...
_FRAGMENT = re.compile(
    rb"(?:%[0-9A-Fa-f]?|\\(?:u[0-9A-Fa-f]{0,3})?"
    rb"|\\u[dD][89abAB][0-9a-fA-F]{2}(?:\\(?:u[0-9A-Fa-f]{0,3})?)?)\Z"  # a pair's first half
)


def _percent(token: bytes) -> bytes:
    return b" " if token == b"+" else bytes([int(token[1:], 16)])


def _json(token: bytes) -> bytes:
    if token[1] != ord("u"):
        return _SHORT[token[1]].encode()
    code = int(token[2:6], 16)
    if len(token) == 12:
        code = 0x10000 + ((code - 0xD800) << 10) + (int(token[8:12], 16) - 0xDC00)
    return chr(code).encode("utf-8", "surrogatepass")


class _View:
    """`source` decoded by `pattern`'s tokens, and the way back to source offsets."""

    def __init__(
        self,
        source: bytes,
        pattern: re.Pattern[bytes] | None = None,
        decode: Callable[[bytes], bytes] = bytes,
    ) -> None:
        self._d0: list[int] = []  # where each token's decoded bytes start and end,
        self._d1: list[int] = []
        self._s0: list[int] = []  # and where it was in the source
        self._s1: list[int] = []
        if pattern is None:
            self.text = source
            return
        parts: list[bytes] = []
        at = size = 0
        for match in pattern.finditer(source):
            start, end = match.span()
            value = decode(match.group())
            parts += (source[at:start], value)
            size += start - at
            self._d0.append(size)
            size += len(value)
            self._d1.append(size)
            self._s0.append(start)
            self._s1.append(end)
            at = end
        parts.append(source[at:])
        self.text = b"".join(parts)

    def start(self, d: int) -> int:
        """The source offset where decoded byte `d` begins."""
        k = bisect_right(self._d0, d) - 1
        if k < 0:
            return d
        if d < self._d1[k]:
            return self._s0[k]
        return d - self._d1[k] + self._s1[k]

    def end(self, d: int) -> int:
        """The source offset just past decoded byte `d - 1`."""
        k = bisect_right(self._d0, d - 1) - 1
        if k < 0:
            return d
        if d - 1 < self._d1[k]:
            return self._s1[k]
        return d - self._d1[k] + self._s1[k]


def merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """`spans` sorted, with overlapping and touching ones joined."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


class Redactor:
    """The secrets a writer tracks, and where they occur in bytes, in any view."""

    def __init__(self, replacement: bytes = b"[redacted]") -> None:
        self.replacement = replacement
        self.secrets: list[bytes] = []
        self.work = 0  # bytes examined, for the linear-time tests

    @property
    def window(self) -> int:
        """How many bytes one encoded secret can span (0: no secrets)."""
        longest = max(map(len, self.secrets), default=0)
        return _WIDEST * longest + _TOKEN if longest else 0

    def learn(self, secret: str) -> bool:
        """Track `secret` (its UTF-8 and Latin-1 bytes); False when it cannot be tracked:
        longer than `MAX_SECRET_BYTES`, past `MAX_SECRETS`, or part of the replacement."""
        text = secret.strip()
        forms = {text.encode("utf-8", "surrogatepass")}
        if not text.isascii():
            with contextlib.suppress(UnicodeEncodeError):
                forms.add(text.encode("latin-1"))
        new = sorted(form for form in forms if form and form not in self.secrets)
        if any(len(form) > MAX_SECRET_BYTES or form in self.replacement for form in new):
            return False
        if len(self.secrets) + len(new) > MAX_SECRETS:
            return False
        self.secrets += new
        return True

    def _views(self, data: bytes) -> Iterator[_View]:
        self.work += len(data)
        yield _View(data)
        if b"%" in data:
            self.work += len(data)
            yield _View(data, _PERCENT, _percent)
        if b"+" in data:
            self.work += len(data)
            yield _View(data, _FORM, _percent)
        if b"\\" in data:
            self.work += len(data)
            yield _View(data, _JSON, _json)

    def spans(self, data: bytes) -> list[tuple[int, int]]:
        """Where a secret occurs in `data`, in any view: merged source spans."""
        if not self.secrets or not data:
            return []
        found = []
        for view in self._views(data):
            text = view.text
            for secret in self.secrets:
                self.work += len(text)
                at = text.find(secret)
                while at >= 0:
                    found.append((view.start(at), view.end(at + len(secret))))
                    at = text.find(secret, at + len(secret))
        return merge(found)

    def redact(self, data: bytes) -> bytes:
        """`data` with every secret made the replacement; wholly so if masking cannot clear it."""
        for _ in range(3):
            spans = self.spans(data)
            if not spans:
                return data
            data = masked(data, spans, 0, len(data), self.replacement)
        return self.replacement

    def open_tail(self, data: bytes) -> int:
        """The length of the end of `data` that may begin a secret (0: none can)."""
        window = self.window
        if not window or not data:
            return 0
        tail = data[-window:]
        fragment = _FRAGMENT.search(tail)
        hold = fragment.start() if fragment else len(tail)
        body = tail[:hold]  # a fragment may become any character: what precedes it must fit
        for view in self._views(body):
            text = view.text
            for secret in self.secrets:
                self.work += min(len(text), len(secret))
                first = secret[:1]
                at = text.find(first, max(0, len(text) - len(secret) + 1))
                checks = 0
                while at >= 0 and view.start(at) < hold:
                    if checks == _CHECKS or secret.startswith(text[at:]):
                        hold = view.start(at)
                        break
                    checks += 1
                    at = text.find(first, at + 1)
        return len(tail) - hold


def masked(
    data: bytes, spans: list[tuple[int, int]], start: int, end: int, replacement: bytes
) -> bytes:
    """`data[start:end]` with each run the merged, sorted `spans` cover made `replacement`."""
    out = bytearray()
    at = start
    for s, e in spans:
        s, e = max(s, start), min(e, end)
        if s >= e:
            continue
        out += data[at:s]
        out += replacement
        at = e
    out += data[at:end]
    return bytes(out)
