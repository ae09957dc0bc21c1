"""The core stays sans-IO: `import wire` loads no I/O module, and core modules import none."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import wire
from wire._errors import error_class_for

# Every module of wire/ is core except the drivers, the command line and the testing kit.
NOT_CORE = {"sync", "trio", "asyncio", "cli", "__main__"}
CORE = sorted(
    path.stem for path in Path(wire.__file__).parent.glob("*.py") if path.stem not in NOT_CORE
)
# `email` (email.utils imports socket) and the stdlib `http` package are I/O helpers too.
FORBIDDEN = {
    "socket",
    "ssl",
    "trio",
    "asyncio",
    "threading",
    "time",
    "select",
    "selectors",
    "email",
    "http",
}


def test_import_wire_loads_no_io_module() -> None:
    code = (
        "import sys; before = set(sys.modules); import wire; "
        "print(sorted({'socket', 'ssl', 'trio', 'asyncio'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_core_modules_import_no_io_or_clock() -> None:
    root = Path(wire.__file__).parent
    for name in CORE:
        tree = ast.parse((root / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = {node.module.split(".")[0]}
            else:
                continue
            assert not names & FORBIDDEN, f"wire/{name}.py imports {names & FORBIDDEN}"


def test_public_names_are_exported() -> None:
    for name in wire.__all__:
        assert hasattr(wire, name), name
    pinned = [
        "SSEDecoder",
        "ServerSentEvent",
        "encode_sse",
        "parse_stream_event",
        "MessageStart",
        "ContentBlockStart",
        "ContentBlockDelta",
        "ContentBlockStop",
        "MessageDelta",
        "MessageStop",
        "Ping",
        "StreamError",
        "UnknownEvent",
        "TextDelta",
        "InputJSONDelta",
        "ThinkingDelta",
        "SignatureDelta",
        "CitationsDelta",
        "UnknownDelta",
        "Message",
        "MessageAccumulator",
        "MessageStreamDecoder",
        "WireError",
        "APIError",
        "RemoteProtocolError",
        "LocalProtocolError",
        "IncompleteStreamError",
        "SSEError",
        "ProtocolError",
    ]
    missing = [n for n in pinned if n not in wire.__all__]
    assert not missing


def test_errors_form_one_tree() -> None:
    assert issubclass(wire.SSEError, wire.RemoteProtocolError)
    assert issubclass(wire.IncompleteStreamError, wire.RemoteProtocolError)
    assert issubclass(wire.RemoteProtocolError, wire.ProtocolError)
    assert issubclass(wire.LocalProtocolError, wire.ProtocolError)
    assert issubclass(wire.APITimeoutError, wire.APIConnectionError)
    assert issubclass(wire.OverloadedError, wire.APIError)
    for cls in (wire.ProtocolError, wire.APIError, wire.APIConnectionError):
        assert issubclass(cls, wire.WireError)
    assert error_class_for(529, None) is wire.OverloadedError
    assert error_class_for(200, "rate_limit_error") is wire.RateLimitError
    assert error_class_for(None, "overloaded_error") is wire.OverloadedError
    assert error_class_for(599, None) is wire.InternalServerError
