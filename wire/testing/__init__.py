"""The testing kit: a local API emulator with fault injection, and hypothesis
strategies for fuzzing SSE and Messages stream consumers.

- `wire.testing.serve(...)`: the emulator in a background thread (needs `trio`);
- `wire.testing.emulator`: its sans-IO logic (`Emulator`, `EmulatorConnection`);
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
