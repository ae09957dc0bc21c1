"""The README's first example runs as written (on chunks of the bundled capture)."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert code is not None
    raw = (resources.files("wire") / "samples" / "tool_use.sse").read_bytes()
    chunks = [raw[i : i + 100] for i in range(0, len(raw), 100)]
    exec(compile(code.group(1), "README.md", "exec"), {"chunks_from_anywhere": chunks})
    out = capsys.readouterr().out
    assert out.startswith("Okay, let me check the weather in Paris")
    assert "'stop_reason': 'tool_use'" in out


def test_the_readme_driver_example_runs_against_the_emulator(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from wire.testing import serve

    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    (code,) = [block for block in blocks if "wire.sync.Client()" in block]
    with serve() as server:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
        for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy"):
            monkeypatch.delenv(name, raising=False)
        exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "You said: “Hello”" in out  # the emulator echoes the prompt
