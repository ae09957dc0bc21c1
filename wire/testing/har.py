"""HTTP Archive 1.2 export of a capture (`wire record --to-har`), for browser devtools.

HAR keeps one entry per exchange with its timings (`wait` until the response
head, `receive` until the end), but not the read boundaries or per-read times a
capture holds: the export is for looking at, a capture is for replaying.

Layer: testing kit; standard library only.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from wire._version import __version__
from wire.testing.capture import Capture, Exchange, Headers

__all__ = ["to_har"]


def _har_headers(headers: Headers) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in headers]


def _har_header(headers: Headers, name: str, default: str = "") -> str:
    return next((v for k, v in headers if k.lower() == name), default)


def _har_content(body: bytes, mime: str) -> dict[str, Any]:
    content: dict[str, Any] = {"size": len(body), "mimeType": mime}
    try:
        content["text"] = body.decode("utf-8")
    except UnicodeDecodeError:
        content["text"] = base64.b64encode(body).decode("ascii")
        content["encoding"] = "base64"
    return content


def _har_date(at: float) -> str:
    try:
        when = datetime.fromtimestamp(at, UTC)
    except (OverflowError, OSError, ValueError):  # past what a date can say: the epoch
        when = datetime.fromtimestamp(0, UTC)
    return when.isoformat(timespec="milliseconds")


def _har_entry(exchange: Exchange, upstream: str) -> dict[str, Any]:
    request, response, end = exchange.request, exchange.response, exchange.end
    # The query is what follows "?": urlsplit would read a target like "//[" as a host.
    pairs = parse_qsl(request.target.partition("?")[2], keep_blank_values=True)
    har_request: dict[str, Any] = {
        "method": request.method,
        "url": upstream.rstrip("/") + request.target,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _har_headers(request.headers),
        "queryString": [{"name": name, "value": value} for name, value in pairs],
        "headersSize": -1,
        "bodySize": len(request.body),
    }
    if request.body or request.method in ("POST", "PUT", "PATCH"):
        mime = _har_header(request.headers, "content-type", "application/octet-stream")
        text = _har_content(request.body, mime)
        har_request["postData"] = {"mimeType": mime, "text": text["text"]}
    wait = 0.0 if response is None else max(0.0, response.t * 1000)
    finished = wait if end is None else max(wait, end.t * 1000)
    headers = () if response is None else response.headers
    body = exchange.body
    entry: dict[str, Any] = {
        "startedDateTime": _har_date(exchange.at),
        "time": finished,
        "request": har_request,
        "response": {
            "status": 0 if response is None else response.status,
            "statusText": "" if response is None else response.reason,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": _har_headers(headers),
            "content": _har_content(body, _har_header(headers, "content-type")),
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": len(body),
        },
        "cache": {},
        "timings": {"send": 0, "wait": wait, "receive": finished - wait},
        "_wireExchange": exchange.id,
    }
    if end is None or not end.complete:
        entry["_complete"] = False
        entry["comment"] = "incomplete: " + ("no end recorded" if end is None else end.error or "")
    return entry


def to_har(capture: Capture | Iterable[Exchange], *, upstream: str | None = None) -> dict[str, Any]:
    """An HTTP Archive 1.2 log of the exchanges, for `json.dump` (browser devtools open it).

    URLs are the capture's `upstream` (or `upstream=`) plus each target. Bodies are
    the decoded text (`encoding: "base64"` when not UTF-8). Timings: `wait` until the
    response head, `receive` until the end. An exchange cut off carries `"_complete":
    false` and a `comment` naming the error (HAR's custom fields start with `_`).
    """
    if isinstance(capture, Capture):
        base = capture.upstream if upstream is None else upstream
        exchanges: Iterable[Exchange] = capture.exchanges
    else:
        base, exchanges = upstream or "http://localhost", capture
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "wire", "version": __version__},
            "entries": [_har_entry(exchange, base) for exchange in exchanges],
        }
    }
