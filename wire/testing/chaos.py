"""Seeded chaos, and faults set from the test side: for clients that cannot send `x-wire-fault`.

An application written on an SDK cannot add a header to its requests. `Chaos(seed, rate)`
makes the emulator pick a fault from a weighted menu of the catalogue (`wire.testing.faults`)
for a seeded random share of requests, exactly as if the request had carried it. Whether
the n-th request is hit depends only on (seed, n), and which fault on (seed, n, whether
the request streams): never on timing, so the same seed and request order give the same
faults, and a failure chaos finds is replayed exactly. `emulator.set_faults(header)` applies
one header's faults to the following requests instead. A request that carries its own
`x-wire-fault` keeps it. Every fault chaos injects is logged as a `ChaosRecord`.
"""

from __future__ import annotations

import json
import math
import random
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from wire._errors import shown
from wire.testing.faults import FaultError, parse_faults

__all__ = [
    "DEFAULT_RATE",
    "MAX_FAULT_HEADER",
    "MENU",
    "Chaos",
    "ChaosRecord",
    "FaultControls",
    "MenuItem",
]

DEFAULT_RATE = 0.1  # one request in ten
# The chaos log keeps the most recent records only: a long `wire serve` stays bounded.
MAX_LOG = 10_000
# A seed is a 64-bit integer (signed or not); a fault header set by `set_faults` at most
# this long (the emulator reads a whole request head of 64 KiB).
_SEEDS = range(-(2**63), 2**64)
MAX_FAULT_HEADER = 8192


@dataclass(frozen=True)
class MenuItem:
    """One fault of the menu: its `x-wire-fault` value, its weight, whether streams only."""

    fault: str
    weight: int = 1
    streams_only: bool = False


# What the API does to clients, with waits kept short for tests: overloads, rate limits and
# server errors (each with a short retry-after), connections cut mid-body, a stall, odd
# chunking, gzip; for streams also an error event mid-stream and a cut after some events.
# Malformed bytes are left out: the API never sends them (ask for them by header).
MENU: tuple[MenuItem, ...] = (
    MenuItem("status=529;retry-after=0.1", 4),
    MenuItem("status=429;retry-after=0.1", 3),
    MenuItem("status=500;retry-after=0.1", 2),
    MenuItem("drop-after=32", 2),
    MenuItem("stall=0.2", 2),
    MenuItem("chunk=random", 2),
    MenuItem("gzip=1", 1),
    MenuItem("error-event=overloaded_error", 3, streams_only=True),
    MenuItem("drop-after=1024", 1, streams_only=True),
)


@dataclass(frozen=True)
class Chaos:
    """Faults on a seeded random share `rate` (0 to 1) of requests, drawn from `menu`."""

    seed: int
    rate: float = DEFAULT_RATE
    menu: tuple[MenuItem, ...] = MENU

    def __post_init__(self) -> None:
        if type(self.seed) is not int or self.seed not in _SEEDS:
            raise ValueError(f"chaos seed {shown(self.seed, 60)}: must be a 64-bit integer")
        if isinstance(self.rate, bool) or not (
            isinstance(self.rate, int | float) and 0 <= self.rate <= 1
        ):
            raise ValueError(f"chaos rate {shown(self.rate, 60)}: must be a number from 0 to 1")
        if not self.menu or any(type(i.weight) is not int or i.weight < 1 for i in self.menu):
            raise ValueError("chaos menu: at least one item, each weight an integer >= 1")
        for item in self.menu:
            parse_faults(item.fault)  # a FaultError now rather than a 400 per request

    @classmethod
    def parse(cls, spec: str | int | Chaos) -> Chaos:
        """`Chaos` from `"SEED[:RATE]"` (as `wire serve --chaos` takes it), a seed, or itself."""
        if isinstance(spec, Chaos):
            return spec
        if isinstance(spec, int) and not isinstance(spec, bool):
            return cls(spec)
        wrong = ValueError(
            f"chaos {shown(spec, 60)}: expected SEED[:RATE], an integer seed and a rate from 0 to 1"
        )
        if not isinstance(spec, str) or len(spec) > 100:
            raise wrong
        seed, sep, rate = spec.partition(":")
        try:
            number = float(rate) if sep else DEFAULT_RATE
            return cls(int(seed), number if math.isfinite(number) else -1.0)
        except ValueError:
            raise wrong from None

    def fault(self, n: int, streams: bool) -> str | None:
        """The fault for the n-th request (None: none); a stream may get stream-only faults."""
        rng = random.Random(f"wire-chaos-{self.seed}-{n}")
        if not rng.random() < self.rate:
            return None
        items = [item for item in self.menu if streams or not item.streams_only]
        if not items:
            return None
        return rng.choices(items, weights=[item.weight for item in items])[0].fault


@dataclass(frozen=True)
class ChaosRecord:
    """One fault chaos injected: the n-th request since chaos began, and what it hit."""

    n: int
    method: str
    target: str
    request_id: str
    fault: str

    def __str__(self) -> str:
        return f"chaos #{self.n}: {self.method} {self.target} {self.request_id}: {self.fault}"


class Hit(NamedTuple):
    """A fault chaos chose for a request, until the request's id is known."""

    run: int
    n: int
    fault: str


def _streams(method: str, target: str, body: bytes) -> bool:
    """Whether the request asks for a stream (a Messages POST with `"stream": true`)."""
    if method != "POST" or target.split("?", 1)[0].rstrip("/") != "/v1/messages":
        return False
    if b'"stream"' not in body:
        return False
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(parsed, dict) and parsed.get("stream") is True


class FaultControls:
    """The emulator's faults for requests without `x-wire-fault`: set ones, then chaos.

    Thread-safe: tests set them from their own thread while the server runs in another.
    """

    def __init__(
        self,
        chaos: Chaos | str | int | None = None,
        on_chaos: Callable[[ChaosRecord], None] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._set: str | None = None  # the header set_faults asked for
        self._set_left: int | None = None  # its `times`, counting down
        self._chaos = None if chaos is None else Chaos.parse(chaos)
        self._n = 0
        self._run = 0  # which chaos run (set_chaos starts a new one)
        self._log: deque[ChaosRecord] = deque(maxlen=MAX_LOG)
        self.on_chaos = on_chaos  # called with each record (`wire serve` prints it)

    def set_faults(self, header: str | None) -> None:
        """Apply these faults (an `x-wire-fault` value) to the following requests; None clears.

        With `times=N` only the next N requests get them. `FaultError` if it is not valid
        (or not a str of at most `MAX_FAULT_HEADER` characters).
        """
        if header is not None and not isinstance(header, str):
            raise FaultError(f"set_faults: the header must be a str or None, not {type(header)}")
        if header is not None and len(header) > MAX_FAULT_HEADER:
            raise FaultError(f"set_faults: the header must be at most {MAX_FAULT_HEADER} long")
        times = parse_faults(header).times if header else None
        with self._lock:  # `times=0`: none of them
            self._set, self._set_left = (header or None) if times != 0 else None, times

    def set_chaos(self, chaos: Chaos | str | int | None) -> None:
        """Start chaos afresh (n counts from 1 again, the log is emptied), or stop it (None)."""
        parsed = None if chaos is None else Chaos.parse(chaos)
        with self._lock:
            self._chaos = parsed
            if parsed is not None:
                self._n = 0
                self._run += 1
                self._log.clear()

    @property
    def chaos(self) -> Chaos | None:
        return self._chaos

    @property
    def chaos_log(self) -> tuple[ChaosRecord, ...]:
        """The faults chaos injected, oldest first (the last 10,000)."""
        with self._lock:
            return tuple(self._log)

    def fault_for(
        self, own: str | None, method: str, target: str, body: bytes
    ) -> tuple[str | None, Hit | None]:
        """The fault header for a request (its own first), and the `Hit` if chaos chose it.

        Every request counts towards n, even one that carries its own header.
        """
        with self._lock:
            chaos, run = self._chaos, self._run
            self._n += 1
            n = self._n
            if own is not None:
                return own, None
            if self._set is not None:
                header = self._set
                if self._set_left is not None:
                    self._set_left -= 1
                    if self._set_left <= 0:
                        self._set = self._set_left = None
                return header, None
        fault = None if chaos is None else chaos.fault(n, _streams(method, target, body))
        return fault, (None if fault is None else Hit(run, n, fault))

    def log_hit(self, hit: Hit, method: str, target: str, request_id: str) -> None:
        """Log a fault chaos chose (`hit`, from `choose`) once the request has its id."""
        record = ChaosRecord(hit.n, method, target, request_id, hit.fault)
        with self._lock:
            if self._chaos is None or hit.run != self._run:
                return  # chaos stopped or began afresh while the request was answered
            self._log.append(record)
        if self.on_chaos is not None:
            self.on_chaos(record)
