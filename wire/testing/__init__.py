"""The testing kit: a local API emulator with fault injection, record and replay of
real traffic, seeded chaos, a pytest plugin, and hypothesis strategies for fuzzing
SSE and Messages stream consumers.

- `wire.testing.serve(...)`: the emulator in a background thread (needs `trio`);
  `serve(chaos="SEED:RATE")` injects seeded faults (`wire.testing.chaos`);
  `serve(replay=PATH, speed=...)` answers from a capture (`wire.testing.replay`);
- `wire.testing.emulator`: its sans-IO logic (`Emulator`, `EmulatorConnection`);
- `wire.testing.recorder`: `wire record`, a recording reverse proxy (needs `trio`);
- `wire.testing.capture`: the capture format (writer, reader, redaction);
  `wire.testing.har`: a capture as an HTTP Archive;
- `wire.testing.pytest_plugin`: the fixtures `wire_server`, `wire_faults`, `wire_replay`;
- `wire.testing.strategies`: hypothesis strategies (needs `hypothesis`).

Importing this package loads neither trio nor hypothesis.
"""

from __future__ import annotations

from typing import Any

__all__ = ["serve"]


def __getattr__(name: str) -> Any:
    if name == "serve":
        from wire.testing.server import serve

        return serve
    raise AttributeError(f"module 'wire.testing' has no attribute {name!r}")
