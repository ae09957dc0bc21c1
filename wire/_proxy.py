"""Proxies, sans-IO: which proxy a request goes through, and the CONNECT handshake.

Layer: core (stdlib and h11 only; no socket, no clock). Rule: the environment
is an argument (a mapping the driver passes in), never `os.environ`; and a
proxy's credentials appear only in the `Proxy-Authorization` header, never in
a `repr` or an error text (errors name the proxy as `scheme://host:port`).

Selection follows PROTOCOL.md §1.5, as Python's `urllib` and httpx read the
variables: `HTTPS_PROXY` for `https://` targets, `HTTP_PROXY` for `http://`
ones, `ALL_PROXY` for both (a scheme-specific one wins), lower-case forms
winning over upper-case ones (an empty lower-case value cancels), upper-case
`HTTP_PROXY` ignored under CGI (`REQUEST_METHOD` set), and `NO_PROXY`
(see `no_proxy_matches`) beating them all.

`https://` targets go through an HTTP CONNECT tunnel (`Tunnel`); `http://`
targets are sent to the proxy in absolute form (`absolute_target`). Only
`http://` proxies are supported: a `https://` or `socks` proxy URL raises
`InvalidParameterError` naming where it came from.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote, urlsplit

import h11

from ._errors import InvalidParameterError, ProxyError

__all__ = [
    "DEFAULT_MAX_PROXY_HEAD_BYTES",
    "Proxy",
    "ProxyError",
    "ProxySetting",
    "Tunnel",
    "absolute_target",
    "environment_proxies",
    "no_proxy_matches",
    "parse_proxy",
    "refusal",
    "select_proxy",
]

ProxySetting = str | None
"""A client's `proxy=`: `"env"` (read the environment), a proxy URL, or None (no proxy)."""

# A proxy's answer to CONNECT is a status line and a few headers; 64 KiB is far
# past any real one and bounds a hostile proxy.
DEFAULT_MAX_PROXY_HEAD_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True, repr=False)
class Proxy:
    """One HTTP proxy: where it is, and its credentials (shown nowhere but the header)."""

    host: str
    port: int
    username: str | None = field(default=None, compare=True)
    password: str | None = field(default=None, compare=True)

    @property
    def url(self) -> str:
        """`http://host:port`, without credentials: how errors and reprs name the proxy."""
        return f"http://{_authority(self.host, self.port)}"

    @property
    def authorization(self) -> str | None:
        """The `Proxy-Authorization` value (`Basic base64(user:pass)`), or None."""
        if self.username is None:
            return None
        pair = f"{self.username}:{self.password or ''}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    def __repr__(self) -> str:
        auth = "<credentials>@" if self.username is not None else ""
        return f"Proxy('http://{auth}{_authority(self.host, self.port)}')"


def _authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_proxy(url: str, *, source: str = "proxy") -> Proxy:
    """A `Proxy` from its URL; a value without `://` gets `http://`.

    `source` names where the URL came from (`proxy`, `HTTPS_PROXY` ...) in the
    `InvalidParameterError` a bad URL raises; the URL itself is never quoted
    (it may hold a password). Userinfo is percent-decoded (`p%40ss` -> `p@ss`).
    """
    if not isinstance(url, str):
        raise InvalidParameterError(source, f"must be a proxy URL, not {type(url).__name__}")
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise InvalidParameterError(source, "is not a valid proxy URL") from None
    scheme = parts.scheme.lower()
    if scheme != "http":
        raise InvalidParameterError(
            source, f"proxy scheme {scheme!r} is not supported (only http:// proxies)"
        )
    host = parts.hostname
    if not host or not host.isascii() or any(c in host for c in " \r\n\0/"):
        raise InvalidParameterError(source, "the proxy URL has no valid host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidParameterError(source, "a proxy URL has no path, query or fragment")
    username = None if parts.username is None else unquote(parts.username)
    password = None if parts.password is None else unquote(parts.password)
    for value in (username, password):
        if value is not None and any(c in value for c in "\r\n\0"):
            raise InvalidParameterError(source, "the proxy credentials contain CR, LF or NUL")
    return Proxy(host, 80 if port is None else port, username, password)


def environment_proxies(environ: Mapping[str, str]) -> dict[str, str]:
    """The `*_proxy` variables as `urllib` reads them: {"https": url, "no": list, ...}.

    Every name ending in `_proxy` in any case counts; then lower-case names
    override (an empty lower-case value removes the entry). Under CGI
    (`REQUEST_METHOD` set) only a lower-case `http_proxy` counts for `http`.
    """
    found: dict[str, str] = {}
    for name, value in environ.items():
        if value and name.lower().endswith("_proxy"):
            found[name.lower()[:-6]] = value
    if "REQUEST_METHOD" in environ:
        found.pop("http", None)
    for name, value in environ.items():
        if name.endswith("_proxy") and name == name.lower():
            if value:
                found[name[:-6]] = value
            else:
                found.pop(name[:-6], None)
    return found


def select_proxy(
    scheme: str, host: str, port: int, setting: ProxySetting, environ: Mapping[str, str]
) -> Proxy | None:
    """The proxy for a request to `scheme://host:port`, or None to go direct.

    `setting` is the client's `proxy=`: None goes direct, `"env"` reads
    `environ` (`NO_PROXY` first), any other string is the one proxy to use.
    """
    if setting is None:
        return None
    if setting != "env":
        return parse_proxy(setting)
    found = environment_proxies(environ)
    if no_proxy_matches(scheme, host, port, found.get("no", "")):
        return None
    for key in (scheme, "all"):
        if key in found:
            return parse_proxy(found[key], source=f"{key.upper()}_PROXY")
    return None


# --- NO_PROXY -------------------------------------------------------------------------

_IP = ipaddress.IPv4Address | ipaddress.IPv6Address


def _ip(text: str) -> _IP | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def _split_port(entry: str) -> tuple[str, int | None] | None:
    """`host[:port]` (IPv6 bracketed when a port follows) -> (host, port); None if unparseable."""
    if entry.startswith("["):
        end = entry.find("]")
        if end < 0:
            return None
        host, rest = entry[1:end], entry[end + 1 :]
        if not rest:
            return host, None
        if not rest.startswith(":") or not rest[1:].isdigit():
            return None
        return host, int(rest[1:])
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return (host, int(port)) if port.isdigit() and port.isascii() else None
    return entry, None  # a name, or an unbracketed IPv6 literal


def _host_matches(pattern: str, host: str) -> bool:
    """One NO_PROXY host pattern against the target host (both lower-case)."""
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    if pattern.startswith("."):
        return host.endswith(pattern) and len(host) > len(pattern)
    if pattern.startswith("*"):
        pattern = pattern[1:]
        return host == pattern or host.endswith("." + pattern)
    wanted, target = _ip(pattern), _ip(host)
    if wanted is not None or target is not None:
        return wanted is not None and wanted == target
    if pattern == "localhost":
        return host == "localhost"
    return host == pattern or host.endswith("." + pattern)


def _entry_matches(entry: str, scheme: str, host: str, port: int) -> bool:
    if "://" in entry:  # a URL pattern: its scheme, host and (optional) port
        want_scheme, _, rest = entry.partition("://")
        if want_scheme not in (scheme, "all"):
            return False
        entry = rest.rstrip("/")
        if "/" in entry:
            return False
    elif "/" in entry:  # a CIDR network, else ignored
        try:
            network = ipaddress.ip_network(entry.strip("[]"), strict=False)
        except ValueError:
            return False
        target = _ip(host)
        return target is not None and target.version == network.version and target in network
    parsed = _split_port(entry)
    if parsed is None or not parsed[0]:
        return False
    pattern, want_port = parsed
    return (want_port is None or want_port == port) and _host_matches(pattern, host)


def no_proxy_matches(scheme: str, host: str, port: int, no_proxy: str) -> bool:
    """Whether `NO_PROXY` (comma-separated, entries trimmed) sends `host:port` direct.

    `*` anywhere: every host. `example.com`: that host and its subdomains
    (not `wwwexample.com`). `.example.com` and `*.example.com`: subdomains
    only. `localhost`, `10.0.0.5`, `::1` (bracketed or not): that exact host.
    `10.0.0.0/8`, `fd00::/8`: IP literals in the network. `example.com:8443`:
    that host on that port only. `https://example.com`: a URL pattern (its
    scheme too). Other entries with `/` and unparseable ones are ignored.
    Names compare case-insensitively.
    """
    host = host.lower().strip("[]").rstrip(".")
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if entry == "*":
            return True
        if entry and _entry_matches(entry, scheme, host, port):
            return True
    return False


def absolute_target(scheme: str, host: str, port: int, target: str) -> str:
    """The absolute-form request target a plain-HTTP proxy needs (`http://h:p/path`)."""
    return f"{scheme}://{_authority(host, port)}{target}"


# --- the CONNECT tunnel -------------------------------------------------------------


class Tunnel:
    """The client side of one CONNECT handshake: `request()` bytes, then `receive_data()`.

    `receive_data(data)` returns True once the proxy opened the tunnel (any
    2xx); `trailing` then holds bytes that came after its answer (none from a
    well-behaved proxy: the next bytes are the TLS handshake). Any other
    answer raises `ProxyError` naming the proxy and the status (a 407 says
    whether credentials were sent); a broken or oversized answer (past
    `max_head_bytes`) or the proxy closing (`b""`) raises it too.
    """

    def __init__(
        self,
        proxy: Proxy,
        host: str,
        port: int,
        *,
        max_head_bytes: int = DEFAULT_MAX_PROXY_HEAD_BYTES,
    ) -> None:
        self.proxy = proxy
        self.target = _authority(host, port)
        self.trailing = b""
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=max_head_bytes)
        self._state: Literal["new", "sent", "open"] = "new"

    def __repr__(self) -> str:
        return f"Tunnel({self.proxy!r} -> {self.target}, {self._state})"

    def request(self) -> bytes:
        """The CONNECT request: target and Host `host:port`, and `Proxy-Authorization`."""
        headers = [("host", self.target), ("accept", "*/*")]
        if self.proxy.authorization is not None:
            headers.append(("proxy-authorization", self.proxy.authorization))
        h = self._h11
        try:
            out = h.send(h11.Request(method="CONNECT", target=self.target, headers=headers))
            out = (out or b"") + (h.send(h11.EndOfMessage()) or b"")
        except h11.LocalProtocolError:  # h11's text could quote the credentials header
            raise InvalidParameterError("proxy", "cannot send a CONNECT request to it") from None
        self._state = "sent"
        return out

    def receive_data(self, data: bytes) -> bool:
        """Take the proxy's bytes (b"" when it closed); True once the tunnel is open."""
        if self._state == "open":
            return True
        where = f"proxy {self.proxy.url}"
        h = self._h11
        try:
            h.receive_data(data)
            while True:
                event = h.next_event()
                if event is h11.NEED_DATA:
                    return False
                if isinstance(event, h11.InformationalResponse):
                    continue
                if isinstance(event, h11.Response):
                    return self._answer(event.status_code, bytes(event.reason).decode("latin-1"))
                raise ProxyError(f"{where} sent no answer to CONNECT", proxy=self.proxy.url)
        except h11.RemoteProtocolError as exc:
            if not data:
                raise ProxyError(
                    f"{where} closed the connection before answering CONNECT", proxy=self.proxy.url
                ) from None
            raise ProxyError(
                f"{where} sent a broken answer to CONNECT ({exc})", proxy=self.proxy.url
            ) from None

    def _answer(self, status: int, reason: str) -> bool:
        if 200 <= status < 300:
            self._state = "open"
            self.trailing = bytes(self._h11.trailing_data[0])
            return True
        raise refusal(self.proxy, f"the tunnel to {self.target}", status, reason)


def refusal(proxy: Proxy, what: str, status: int, reason: str) -> ProxyError:
    """The `ProxyError` for a proxy that refused `what` with `status` (a 407 says why)."""
    said = f"{status} {reason}".strip()
    text = f"proxy {proxy.url} refused {what}: {said}"
    if status == 407:
        text += (
            " (credentials were sent and refused)"
            if proxy.username is not None
            else " (no credentials: put them in the proxy URL, http://user:password@host:port)"
        )
    return ProxyError(text, proxy=proxy.url, status=status)
