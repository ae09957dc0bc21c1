"""Retry decisions: whether to try a request again, and after how long.

Layer: core (stdlib only, no clock). Rule: every answer is a pure function of
what the caller passes in (attempt count, status, headers, error body, `now`),
so a driver's retry loop is replayable on a fake clock. The rules are SDK
2.14.0's (PROTOCOL.md §6) with two deliberate differences: a server-named
delay is capped (`max_retry_after`), and the spend-limit 429 is not retried.

HTTP dates are parsed here by hand: `email.utils` would import `socket`.
"""

from __future__ import annotations

import math
import random as _random
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeAlias

from ._errors import APIConnectionError, APIError, InvalidParameterError

__all__ = [
    "HeadersLike",
    "RetryPolicy",
    "header_map",
    "is_retryable",
    "parse_http_date",
    "parse_retry_after",
]

HeadersLike: TypeAlias = Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]]
"""A mapping of names to values, or (name, value) pairs as h11 gives them (bytes or str)."""

_RETRY_STATUSES = frozenset({408, 409, 429})
_SPEND_LIMIT = "enforced_spend_limit_reached"


def header_map(headers: HeadersLike | None) -> dict[str, str]:
    """Headers as a `dict` of lower-case names to values with surrounding whitespace removed.

    Accepts a mapping or an iterable of (name, value) pairs; bytes are decoded
    as Latin-1 (HTTP's own charset). Names are case-insensitive; when a name
    repeats, its first occurrence wins. Never raises on odd header values; a
    container of the wrong shape, or a name or value that is neither `str` nor
    `bytes`, raises `InvalidParameterError` naming `headers`.
    """
    if headers is None:
        return {}
    if isinstance(headers, str | bytes):
        raise InvalidParameterError("headers", "must be a mapping or (name, value) pairs")
    pairs: Iterable[tuple[str | bytes, str | bytes]]
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, str] = {}
    try:
        for name, value in pairs:
            key = (name.decode("latin-1") if isinstance(name, bytes) else name).lower()
            if key not in out:
                text = value.decode("latin-1") if isinstance(value, bytes) else value
                out[key] = text.strip(" \t")
    except (TypeError, ValueError, AttributeError):  # not pairs, or not str/bytes in them
        raise InvalidParameterError(
            "headers", "must be a mapping or (name, value) pairs of str or bytes"
        ) from None
    return out


# --- HTTP dates (RFC 9110 §5.6.7) ------------------------------------------------------

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_T = r"([0-9]{2}):([0-9]{2}):([0-9]{2})"
_FLAGS = re.ASCII | re.IGNORECASE
_IMF_FIXDATE = re.compile(rf"[a-z]{{3}}, ([0-9]{{1,2}}) ([a-z]{{3}}) ([0-9]{{4}}) {_T} GMT", _FLAGS)
_RFC850 = re.compile(rf"[a-z]{{6,9}}, ([0-9]{{2}})-([a-z]{{3}})-([0-9]{{2}}) {_T} GMT", _FLAGS)
_ASCTIME = re.compile(rf"[a-z]{{3}} ([a-z]{{3}}) ([ 0-9][0-9]) {_T} ([0-9]{{4}})", _FLAGS)


def _utc_epoch(year: int, month: str, day: int, hour: int, minute: int, second: int) -> float:
    """Seconds since the epoch for a UTC date; raises ValueError or KeyError if impossible."""
    if second > 60:  # 60 is a leap second: it counts as the next minute's first
        raise ValueError(second)
    start = datetime(year, _MONTHS[month.lower()], day, hour, minute, tzinfo=UTC)
    return start.timestamp() + second


def parse_http_date(value: str) -> float | None:
    """An HTTP date as seconds since the epoch, or `None` if `value` is not one.

    Reads IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) and the obsolete RFC 850
    (`Sunday, 06-Nov-94 08:49:37 GMT`; a two-digit year 70-99 is 19xx, 00-69 is
    20xx) and asctime (`Sun Nov  6 08:49:37 1994`) forms. Month names and `GMT`
    are matched case-insensitively; the weekday is not checked against the date.
    """
    text = value.strip()
    try:
        if m := _IMF_FIXDATE.fullmatch(text):
            day, month, year, hour, minute, second = m.groups()
        elif m := _RFC850.fullmatch(text):
            day, month, yy, hour, minute, second = m.groups()
            year = str(int(yy) + (1900 if int(yy) >= 70 else 2000))
        elif m := _ASCTIME.fullmatch(text):
            month, day, hour, minute, second, year = m.groups()
        else:
            return None
        return _utc_epoch(int(year), month, int(day), int(hour), int(minute), int(second))
    except (ValueError, KeyError, OverflowError):
        return None


_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")


def _number(value: str | None) -> float | None:
    """A non-negative decimal (`12`, `1.5`, `.5`); no sign, exponent, `inf` or `nan`."""
    if value is None or not _SECONDS.fullmatch(value):
        return None
    number = float(value)
    return number if number < math.inf else None  # 400 digits overflow to inf


def retry_after_seconds(headers: Mapping[str, str], now: float | None) -> float | None:
    """`parse_retry_after` for headers already in `header_map` form."""
    ms = _number(headers.get("retry-after-ms"))
    if ms is not None:
        return ms / 1000
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return seconds
    if now is None:
        return None
    date = parse_http_date(value)
    return None if date is None else max(0.0, date - now)


def parse_retry_after(headers: HeadersLike | None, *, now: float | None = None) -> float | None:
    """The delay the server names, in seconds (not capped), or `None` if it names none.

    The first of these that parses decides, as in the SDK: `retry-after-ms`
    (milliseconds), `retry-after` as seconds, `retry-after` as an HTTP date
    minus `now` (only when `now`, seconds since the epoch, is given; a past
    date gives 0.0). Numbers are plain non-negative decimals: a sign, an
    exponent, `inf`, `nan` or an overflow make the value unparseable.
    """
    return retry_after_seconds(header_map(headers), now)


# --- the decision ----------------------------------------------------------------------


def _spend_limit_reached(body: Any) -> bool:
    """Whether an error envelope's `error.details.error_code` is the spend limit's."""
    error = body.get("error") if isinstance(body, Mapping) else None
    details = error.get("details") if isinstance(error, Mapping) else None
    return isinstance(details, Mapping) and details.get("error_code") == _SPEND_LIMIT


def _retryable(status: int | None, headers: Mapping[str, str], body: Any) -> bool:
    should = headers.get("x-should-retry")
    if should == "true":
        return True
    if should == "false":
        return False
    if _spend_limit_reached(body):
        return False
    return status is None or status in _RETRY_STATUSES or status >= 500


def _check_status(status: object) -> None:
    if status is not None and (not isinstance(status, int) or isinstance(status, bool)):
        raise InvalidParameterError(
            "status", f"must be an int or None, not {type(status).__name__}"
        )


def is_retryable(status: int | None, headers: HeadersLike | None = None, body: Any = None) -> bool:
    """Whether trying the same request again may succeed (attempts and delays aside).

    In order: `x-should-retry: true` says yes and `false` says no (exact
    lower-case values; anything else is ignored); an error envelope `body`
    (the parsed JSON) whose `error.details.error_code` is
    `enforced_spend_limit_reached` says no, since that 429 keeps failing until
    access resumes; then `status` decides: `None` (no response: a transport
    failure), 408, 409, 429 and every status from 500 up say yes, all others no.
    A `status` that is not an int (or `None`) raises `InvalidParameterError`.
    """
    _check_status(status)
    return _retryable(status, header_map(headers), body)


_MAX = sys.float_info.max


def _check(name: str, value: float, low: float, high: float = _MAX) -> float:
    """`value` if `low <= value <= high` (so finite unless `high` is inf), else raise."""
    if not low <= value <= high:  # also refuses nan
        upper = "" if high == _MAX else f" and <= {high}"
        raise InvalidParameterError(name, f"must be a number >= {low}{upper}, got {value!r}")
    return value


def _check_attempt(attempt: object) -> int:
    if not isinstance(attempt, int) or isinstance(attempt, bool):
        raise InvalidParameterError("attempt", f"must be an int, not {type(attempt).__name__}")
    if attempt < 0:
        raise InvalidParameterError("attempt", "must be >= 0")
    return attempt


def _check_now(now: object) -> None:
    if now is None:
        return
    if isinstance(now, bool) or not isinstance(now, int | float) or not math.isfinite(now):
        raise InvalidParameterError("now", "must be None or a finite number of seconds")


@dataclass(frozen=True, slots=True, init=False)
class RetryPolicy:
    """When to retry a request, and after how long (SDK 2.14.0's rules, plus a cap).

    `delay()` answers one decision at a time; the driver counts attempts,
    sleeps and sends again. With the defaults the schedule of backoff delays
    (when the server names none) is, for retry n = 0, 1, 2, ...:
    `min(0.5 * 2**n, 8.0) * (1 - 0.25 * random())`, i.e. 0.5, 1, 2, 4, 8, 8 ...
    seconds, each shortened by up to 25% (jitter only shortens), and at most
    `max_retries` = 2 retries (3 attempts).

    A server-named delay (`retry-after-ms`, `retry-after`) replaces the backoff
    when positive, and is capped at `max_retry_after` (60 s by default; pass
    `math.inf` for the SDK's behaviour of obeying any value). `random` is the
    source of jitter: a callable returning a float in [0, 1), `random.random`
    by default; inject one for reproducible tests. A value above 1 counts as 1,
    one below 0 (or nan) as 0, so the delay is always a number in range; a
    value that is not a number raises `InvalidParameterError` naming `random`.
    """

    max_retries: int
    initial_delay: float
    max_delay: float
    jitter: float
    max_retry_after: float
    random: Callable[[], float] = field(repr=False, compare=False)

    def __init__(
        self,
        max_retries: int = 2,
        *,
        initial_delay: float = 0.5,
        max_delay: float = 8.0,
        jitter: float = 0.25,
        max_retry_after: float = 60.0,
        random: Callable[[], float] | None = None,
    ) -> None:
        if isinstance(max_retries, bool) or not isinstance(max_retries, int):
            raise InvalidParameterError("max_retries", "must be an integer")
        _check("max_retries", max_retries, 0)
        if random is not None and not callable(random):
            raise InvalidParameterError("random", "must be a callable returning a float")
        setattr_ = object.__setattr__
        setattr_(self, "max_retries", max_retries)
        setattr_(self, "initial_delay", _check("initial_delay", initial_delay, 0))
        setattr_(self, "max_delay", _check("max_delay", max_delay, 0))
        setattr_(self, "jitter", _check("jitter", jitter, 0, 1))
        cap = _check("max_retry_after", max_retry_after, 0, math.inf)
        setattr_(self, "max_retry_after", cap)
        setattr_(self, "random", _random.random if random is None else random)

    def _unit(self) -> float:
        """A draw of `random`, clamped into [0, 1] (nan counts as 0: no shortening)."""
        u = self.random()
        if isinstance(u, bool) or not isinstance(u, int | float):
            raise InvalidParameterError("random", f"returned {type(u).__name__}, not a float")
        if u >= 1.0:
            return 1.0
        return u if u > 0.0 else 0.0  # also nan

    def backoff(self, attempt: int) -> float:
        """The backoff delay before retry number `attempt` (0-based), jitter included."""
        _check_attempt(attempt)
        base = self.max_delay if attempt > 1000 else self.initial_delay * 2.0**attempt
        return min(base, self.max_delay) * (1 - self.jitter * self._unit())

    def delay(
        self,
        attempt: int,
        *,
        status: int | None = None,
        headers: HeadersLike | None = None,
        error: BaseException | None = None,
        body: Any = None,
        now: float | None = None,
    ) -> float | None:
        """Seconds to wait before the next attempt, or `None` for "do not retry".

        `attempt` is the number of retries made so far (0 for the first
        decision); from `max_retries` on the answer is `None`. `now` (seconds
        since the epoch) is needed only to read a `retry-after` HTTP date;
        without it that form is ignored.

        Describe what failed with `error` alone, or with `status`, `headers`
        and `body` (the parsed error envelope) alone; the rules are
        `is_retryable`'s (`status` `None`: no response, a transport failure).
        Given `error`:

        - an `APIError` decides by itself: its `headers`' `x-should-retry`
          (`true`/`false`) if any, else its `retryable` (and no spend-limit
          envelope in its `body`, as `is_retryable` says); the wait is the
          `retry-after-ms`/`retry-after` of its `headers`, else the backoff.
          One whose `status` is below 400 came from an `error` event inside a
          2xx stream and is never retried: the SDK never retries once a stream
          has been handed over. When `status`, `headers` or `body` are given
          as well, those win over the error's own, field by field, and the
          decision is made from the result by `is_retryable`'s rules.
        - an `APIConnectionError` (`APITimeoutError` included) is a transport
          failure: retried as `status=None` (or as the explicit values).
        - anything else is never retried: a `LocalProtocolError` is the
          caller's misuse; a `RemoteProtocolError` (a broken stream, a
          breached limit, bad JSON) would recur or arrived after events were
          handed over, which an error cannot tell (a driver whose connection
          broke before the response reached its caller raises
          `APIConnectionError`, chained with `from`, and that is retried); an
          exception outside wire's tree (`KeyError`, `OSError`) is a bug or
          one a driver has not translated, and retrying would hide it.

        A parameter of the wrong type raises `InvalidParameterError` naming it.
        """
        _check_attempt(attempt)
        _check_status(status)
        _check_now(now)
        if error is not None and not isinstance(error, BaseException):
            raise InvalidParameterError("error", "must be an exception or None")
        names = header_map(headers)
        if attempt >= self.max_retries:
            return None
        explicit = status is not None or headers is not None or body is not None
        if isinstance(error, APIError):
            if not explicit:
                return self._after_error(attempt, error, now)
            status = error.status if status is None else status
            names = header_map(error.headers) if headers is None else names
            body = error.body if body is None else body
        elif error is not None and not isinstance(error, APIConnectionError):
            return None
        if not _retryable(status, names, body):
            return None
        return self._wait(attempt, names, now)

    def _after_error(self, attempt: int, error: APIError, now: float | None) -> float | None:
        """`delay` for an `APIError` alone: its own facts decide."""
        names = header_map(error.headers)
        if error.status < 400:
            return None  # an error event in a stream already handed over
        should = names.get("x-should-retry")
        if should in ("true", "false"):
            retry = should == "true"
        else:  # `retryable` stands in for the status rule of `is_retryable`
            retry = error.retryable and not _spend_limit_reached(error.body)
        return self._wait(attempt, names, now) if retry else None

    def _wait(self, attempt: int, headers: Mapping[str, str], now: float | None) -> float:
        """The server-named delay when positive (capped), else the backoff."""
        named = retry_after_seconds(headers, now)
        if named is not None and named > 0:
            return min(named, self.max_retry_after)
        return self.backoff(attempt)
