"""A real forward proxy for the tests: Debian's `tinyproxy` on a loopback port.

Fixtures (import them into a test module, or list this module in `pytest_plugins`):

- `tinyproxy`: an open proxy (`Proxy.url` is `http://127.0.0.1:PORT`);
- `tinyproxy_auth`: one that answers 407 unless the request carries Basic
  credentials `Proxy.user`/`Proxy.password` (`Proxy.auth_url` carries them).

Both forward plain HTTP (absolute-form targets) and tunnel CONNECT to any port, listen on
127.0.0.1 only, accept clients from 127.0.0.1 only, have no upstream, and log to
`Proxy.log_path`. They skip the test when the `tinyproxy` binary is not installed
(`.ci/run` installs it when it can). `start_tinyproxy(directory, ...)` does the same as
a context manager, for tests that want their own.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["Proxy", "start_tinyproxy", "tinyproxy", "tinyproxy_auth"]

_START_SECONDS = 10.0
_STOP_SECONDS = 10.0


@dataclass(frozen=True)
class Proxy:
    """A running tinyproxy: where it listens, its credentials (if any), its log."""

    host: str
    port: int
    log_path: Path
    user: str | None = None
    password: str | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def auth_url(self) -> str:
        """The URL with the credentials in it (the plain URL when there are none)."""
        if self.user is None:
            return self.url
        return f"http://{self.user}:{self.password}@{self.host}:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _config(port: int, directory: Path, user: str | None, password: str | None) -> str:
    lines = [
        f"Port {port}",
        "Listen 127.0.0.1",
        "Allow 127.0.0.1",
        "Timeout 30",
        "MaxClients 200",
        f'LogFile "{directory / "tinyproxy.log"}"',
        "LogLevel Info",
        f'PidFile "{directory / "tinyproxy.pid"}"',
        # No ConnectPort line: CONNECT may reach any port. No Upstream: it connects itself.
    ]
    if user is not None:
        lines.append(f"BasicAuth {user} {password}")
    return "\n".join(lines) + "\n"


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def start_tinyproxy(
    directory: Path, *, user: str | None = None, password: str | None = None
) -> Iterator[Proxy]:
    """Run tinyproxy in the foreground with a generated config in `directory`; stop it after.

    Skips the calling test when the binary is missing. A port taken between choosing
    it and binding it is retried on another port (three tries).
    """
    binary = shutil.which("tinyproxy")
    if binary is None:
        pytest.skip("tinyproxy is not installed (apt-get install tinyproxy)")
    if (user is None) != (password is None):
        raise ValueError("give both user and password, or neither")
    directory.mkdir(parents=True, exist_ok=True)
    for _ in range(3):
        port = _free_port()
        config = directory / "tinyproxy.conf"
        config.write_text(_config(port, directory, user, password))
        proc = subprocess.Popen(
            [binary, "-d", "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + _START_SECONDS
        while proc.poll() is None and not _accepts(port) and time.monotonic() < deadline:
            time.sleep(0.02)
        if proc.poll() is None and _accepts(port):
            break
        _stop(proc)
    else:
        log = (directory / "tinyproxy.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"tinyproxy did not start; its log ends:\n{log}")
    try:
        yield Proxy("127.0.0.1", port, directory / "tinyproxy.log", user, password)
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=_STOP_SECONDS)


@pytest.fixture(scope="module")
def tinyproxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """An open forward proxy on a loopback port (HTTP and CONNECT), stopped afterwards."""
    with start_tinyproxy(tmp_path_factory.mktemp("tinyproxy")) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def tinyproxy_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """A forward proxy that wants Basic credentials (`wire-user` / `wire-pass`)."""
    directory = tmp_path_factory.mktemp("tinyproxy-auth")
    with start_tinyproxy(directory, user="wire-user", password="wire-pass") as proxy:
        yield proxy
