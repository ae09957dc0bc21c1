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
