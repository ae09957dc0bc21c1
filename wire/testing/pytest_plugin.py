"""wire's pytest plugin: the API emulator as fixtures, for testing clients (see docs/testing.md).

Registered by the `pytest11` entry point, so installing wire with pytest is enough. Loading
it starts nothing and imports neither trio nor the emulator: a suite that uses none of its
fixtures runs as it would without it.

- `wire_server` (session): one emulator for the whole run; `wire_server.base_url`.
- `wire_faults` (function): set faults or chaos for one test, cleared after it.
- `wire_replay` (function): a factory serving a capture file, `wire_replay(path, speed=...)`.

Options: `--wire-seed N` (ini `wire_seed`) seeds the emulator's replies; `--wire-chaos
SEED[:RATE]` (ini `wire_chaos`) runs every test under chaos unless the test sets its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:
    from wire.testing.chaos import Chaos, ChaosRecord
    from wire.testing.emulator import Emulator
    from wire.testing.server import Server

__all__ = ["WireFaults", "wire_faults", "wire_replay", "wire_server"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wire", "wire's API emulator (wire.testing)")
    group.addoption(
        "--wire-seed", type=int, default=None, help="the emulator's seed (default: ini wire_seed)"
    )
    group.addoption(
        "--wire-chaos",
        default=None,
        metavar="SEED[:RATE]",
        help="run every test under the emulator's chaos (default: ini wire_chaos, or none)",
    )
    parser.addini("wire_seed", "the seed of wire_server's emulator", default="0")
    parser.addini("wire_chaos", "chaos for every test on wire_server (SEED[:RATE])", default="")


def _option(config: pytest.Config, name: str) -> str:
    value = config.getoption(f"--wire-{name}")
    return str(config.getini(f"wire_{name}") if value is None else value)


def _where(config: pytest.Config, name: str) -> str:
    """Which setting a value came from, as the user wrote it."""
    return f"--wire-{name}" if config.getoption(f"--wire-{name}") is not None else f"wire_{name}"


def _seed(config: pytest.Config) -> int:
    """The emulator's seed; a `pytest.UsageError` naming the option when it is not one."""
    text = _option(config, "seed").strip()
    try:
        return int(text)
    except ValueError:
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise pytest.UsageError(
            f"{_where(config, 'seed')}: {shown!r} is not an integer seed"
        ) from None


def _chaos(config: pytest.Config) -> Chaos | None:
    """The session's chaos (None: none); a `pytest.UsageError` naming the option when bad."""
    text = _option(config, "chaos").strip()
    if not text:
        return None
    from wire.testing.chaos import Chaos

    try:
        return Chaos.parse(text)
    except ValueError as exc:
        raise pytest.UsageError(f"{_where(config, 'chaos')}: {exc}") from None


def pytest_configure(config: pytest.Config) -> None:
    """Check the options now, so a bad one stops the run before any test (as a usage error)."""
    _seed(config)
    _chaos(config)


class WireFaults:
    """Faults and chaos for the emulator's following requests (`wire_faults`)."""

    def __init__(self, server: Server, chaos: Chaos | None) -> None:
        from wire.testing.emulator import Emulator

        if not isinstance(server.emulator, Emulator):
            raise TypeError("wire_faults needs an emulator, not a replay")
        self.server = server
        self.emulator: Emulator = server.emulator
        self._default = chaos

    def set(self, header: str | None) -> None:
        """Give the following requests these faults, as an `x-wire-fault` value would."""
        self.emulator.set_faults(header)

    def chaos(self, spec: Chaos | str | int | None) -> None:
        """Start chaos afresh (`"SEED[:RATE]"`, a seed, or a `Chaos`); None stops it."""
        self.emulator.set_chaos(spec)

    @property
    def log(self) -> tuple[ChaosRecord, ...]:
        """The faults chaos injected since it began, each with its request."""
        return self.emulator.chaos_log

    def reset(self) -> None:
        """No set faults; the session's chaos (`--wire-chaos`), afresh, or none."""
        self.emulator.set_faults(None)
        self.emulator.set_chaos(self._default)


@pytest.fixture(scope="session")
def wire_server(pytestconfig: pytest.Config) -> Iterator[Server]:
    """The API emulator, in a background thread for the whole session: its `base_url`."""
    from wire.testing.server import serve

    with serve(seed=_seed(pytestconfig), chaos=_chaos(pytestconfig)) as server:
        yield server


@pytest.fixture
def wire_faults(wire_server: Server, pytestconfig: pytest.Config) -> Iterator[WireFaults]:
    """Set faults (`.set(header)`) or chaos (`.chaos(spec)`) for this test; reset after it."""
    faults = WireFaults(wire_server, _chaos(pytestconfig))
    faults.reset()  # chaos starts afresh: the test sees the same faults whatever ran before
    try:
        yield faults
    finally:
        faults.reset()


class ReplayFactory(Protocol):
    def __call__(self, path: str | Path, **options: Any) -> Server: ...


@pytest.fixture
def wire_replay() -> Iterator[ReplayFactory]:
    """A factory: `wire_replay(path, speed=...)` serves a capture file until the test ends.

    Options go to `wire.testing.serve(replay=path, ...)` (`speed` as it takes it).
    """
    from wire.testing.server import serve

    with ExitStack() as stack:

        def start(path: str | Path, **options: Any) -> Server:
            server: Server = stack.enter_context(serve(replay=path, **options))
            return server

        yield start
