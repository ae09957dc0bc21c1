"""The sync driver's reads: a socket timeout kept across reads, a read that wakes early.

`wire.sync` keeps the socket's timeout while it ends at most 10% before the
read's deadline (no `settimeout` system call per read), so a read may time out
before its deadline: it is then re-armed and retried, and only a deadline
that really passed is reported as a timeout. A fake socket and clock stand in.
"""

from __future__ import annotations

from typing import Any

import pytest

import wire.sync
from wire._call import Receive


class FakeSocket:
    """A socket whose reads time out `early` times, then return `data`; records settimeout."""

    def __init__(self, clock: list[float], early: int, data: bytes = b"ok") -> None:
        self.clock, self.early, self.data = clock, early, data
        self.timeout: float | None = None
        self.set: list[float | None] = []

    def gettimeout(self) -> float | None:
        return self.timeout

    def settimeout(self, value: float | None) -> None:
        self.timeout = value
        self.set.append(value)

    def recv(self, size: int) -> bytes:
        if self.early:
            self.early -= 1
            assert self.timeout is not None
            self.clock[0] += self.timeout  # the whole timeout passes, then the read gives up
            raise TimeoutError
        return self.data


class FakeCall:
    def received(self, data: bytes, now: float) -> Any:
        return ("received", data, now)

    def timed_out(self, now: float) -> Any:
        return ("timed_out", now)

    def failed(self, exc: BaseException, now: float) -> Any:
        return ("failed", exc)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(wire.sync, "_clock", lambda: now[0])
    return now


def read(sock: FakeSocket, deadline: float | None) -> Any:
    client = wire.sync.Client(api_key="k", base_url="http://127.0.0.1:1", proxy=None)
    return client._do(FakeCall(), Receive(sock, deadline))  # type: ignore[arg-type]


def test_a_timeout_within_ten_percent_of_the_deadline_is_kept(clock: list[float]) -> None:
    sock = FakeSocket(clock, early=0)
    sock.timeout = 100.0
    assert read(sock, clock[0] + 105.0)[0] == "received"
    assert sock.set == []  # no system call
    assert read(sock, clock[0] + 120.0)[0] == "received"  # would end 17% early: re-armed
    assert sock.set == [120.0]
    assert read(sock, clock[0] + 60.0)[0] == "received"  # would overrun: re-armed
    assert sock.set == [120.0, 60.0]
    assert read(sock, None)[0] == "received"
    assert sock.set == [120.0, 60.0, None]
    assert read(sock, None)[0] == "received"
    assert sock.set == [120.0, 60.0, None]


def test_a_read_that_wakes_early_is_retried_until_the_deadline(clock: list[float]) -> None:
    start = clock[0]
    sock = FakeSocket(clock, early=1)
    sock.timeout = 95.0  # kept: ends 5% before the deadline
    outcome = read(sock, start + 100.0)
    assert outcome[:2] == ("received", b"ok")
    assert sock.set == [pytest.approx(5.0)]  # the time left, after the early wake
    assert clock[0] == start + 95.0


def test_a_deadline_that_passes_is_a_timeout(clock: list[float]) -> None:
    start = clock[0]
    sock = FakeSocket(clock, early=5)
    sock.timeout = 95.0
    assert read(sock, start + 100.0) == ("timed_out", start + 100.0)
    assert sock.early == 3  # woke early once, then at the deadline: no further read
    assert read(FakeSocket(clock, early=0), clock[0] - 1.0)[0] == "timed_out"
