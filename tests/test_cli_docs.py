"""docs/cli.md's examples, run: each `$ wire ...` of a console block against the emulator.

Each command runs in bash (`wire` being `python -m wire` from this tree) with
ANTHROPIC_BASE_URL pointing at a fresh emulator; its stdout then stderr must
match the lines the doc shows under it, `...` standing for any text. A
`$ cat FILE` writes the shown lines to FILE; `$ NAME=$(...)` keeps the value for
the commands after it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("trio")
from wire.testing import serve  # needs trio

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "cli.md"
KEY = "sk-ant-docs-example-key-0000"
ASSIGN = re.compile(r"([A-Z_]+)=(\$\(.*\))")


def examples() -> list[list[tuple[str, str]]]:
    """Each console block: its (command, expected output) pairs."""
    blocks = re.findall(r"```console\n(.*?)```", DOC.read_text(), re.DOTALL)
    result = []
    for block in blocks:
        steps: list[tuple[str, list[str]]] = []
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            else:
                steps[-1][1].append(line)
        result.append([(command, "\n".join(lines)) for command, lines in steps])
    return result


def pattern(expected: str) -> re.Pattern[str]:
    parts = [re.escape(part) for part in expected.split("...")]
    return re.compile(".*".join(parts), re.DOTALL)


@pytest.fixture(scope="module")
def env() -> Iterator[dict[str, str]]:
    with serve(batch_seconds=3.0) as server:  # status must still see it in progress under load
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.upper().endswith("_PROXY") and not k.startswith("ANTHROPIC_")
        }
        yield {
            **base,
            "ANTHROPIC_BASE_URL": server.base_url,
            "ANTHROPIC_API_KEY": KEY,
            "PYTHONPATH": str(ROOT),
            "WIRE_PYTHON": sys.executable,
        }


def bash(command: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    script = 'wire() { "$WIRE_PYTHON" -m wire "$@"; }\n' + command
    return subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, cwd=cwd, timeout=30
    )


BLOCKS = examples()


def test_the_doc_has_examples_of_every_command() -> None:
    commands = " ".join(command for block in BLOCKS for command, _ in block)
    for name in ("send", "stream", "count-tokens", "models", "limits", "demo", "decode"):
        assert f"wire {name}" in commands
    for action in ("create", "status", "watch", "results"):
        assert f"wire batch {action}" in commands


@pytest.mark.parametrize("block", BLOCKS, ids=[b[0][0] for b in BLOCKS])
def test_example(block: list[tuple[str, str]], env: dict[str, str], tmp_path: Path) -> None:
    env = dict(env)
    for command, expected in block:
        if command.startswith("cat "):
            (tmp_path / command[4:]).write_text(expected + "\n")
            continue
        if assign := ASSIGN.fullmatch(command):
            name, value = assign.groups()
            out = bash(f'printf %s "{value}"', env, tmp_path)
            assert out.returncode == 0, out.stderr
            env[name] = out.stdout
            continue
        out = bash(command, env, tmp_path)
        shown = (out.stdout + out.stderr).rstrip("\n")
        assert pattern(expected).fullmatch(shown), f"$ {command}\n{shown}"
        assert (out.returncode != 0) == ("error:" in expected), (command, out.returncode)
        assert KEY not in shown
