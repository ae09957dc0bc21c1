"""The pytest plugin (`wire.testing.pytest_plugin`), used by test files run in a subprocess pytest.

Each run loads the plugin the way an installed wire does, by its `pytest11` entry point:
a throwaway distribution on PYTHONPATH declares the entry point pyproject.toml declares.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wire

ROOT = Path(wire.__file__).resolve().parent.parent
DOC = ROOT / "docs" / "testing.md"
STATUS_HELPER = """
import urllib.error
import urllib.request


def status(base_url):
    request = urllib.request.Request(
        base_url + "/v1/models", headers={"x-api-key": "k", "anthropic-version": "2023-06-01"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code
"""


def entry_point() -> tuple[str, str]:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())
    ((name, value),) = declared["project"]["entry-points"]["pytest11"].items()
    return name, value


def env_for(tmp_path: Path) -> dict[str, str]:
    """The environment of a run: this tree's wire, and the plugin's entry point installed."""
    site = tmp_path / "site"
    info = site / "wire_plugin_check-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: wire-plugin-check\nVersion: 0\n")
    name, value = entry_point()
    (info / "entry_points.txt").write_text(f"[pytest11]\n{name} = {value}\n")
    return {**clean_env(), "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}


def clean_env() -> dict[str, str]:
    """This environment without proxies or settings for the SDK or pytest; this tree's wire."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().endswith("_PROXY") and not k.startswith(("ANTHROPIC_", "PYTEST_"))
    }
    return {**env, "PYTHONPATH": str(ROOT)}


def run_pytest(tmp_path: Path, files: dict[str, str], *args: str) -> tuple[int, str]:
    """Write `files` into a fresh directory and run pytest there: (exit status, output)."""
    project = tmp_path / "project"
    project.mkdir(parents=True)
    (project / "pytest.ini").write_text("[pytest]\n")
    for name, text in files.items():
        (project / name).write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=project,
        env=env_for(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode, done.stdout + done.stderr


def outcome(output: str) -> str:
    """The summary line's counts, e.g. "4 passed" or "1 failed, 2 passed"."""
    match = re.search(r"^=*\s*(\d+ \w+(?:, \d+ \w+)*) in [\d.]+s", output, re.M)
    assert match, output
    return match.group(1)


def test_the_entry_point_names_the_plugin() -> None:
    name, value = entry_point()
    assert (name, value) == ("wire", "wire.testing.pytest_plugin")


def test_loading_the_plugin_starts_nothing() -> None:
    code = (
        "import sys, threading; import wire.testing.pytest_plugin; "
        "print(threading.active_count(), sorted({'trio', 'h11', 'wire.testing.server', "
        "'wire.testing.emulator'} & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=clean_env()
    )
    assert out.stdout.split() == ["1", "[]"]


def test_the_documented_example_passes(tmp_path: Path) -> None:
    pytest.importorskip("anthropic")
    blocks = re.findall(r"```python\n(# test_summarize.py\n.*?)```", DOC.read_text(), re.S)
    (example,) = blocks
    status, output = run_pytest(tmp_path, {"test_summarize.py": example}, "-s")
    assert status == 0, output
    assert outcome(output) == "4 passed"
    assert re.search(r"^chaos #\d+: POST /v1/messages req_01\w{22}: ", output, re.M), output


def test_the_documented_set_faults_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("anthropic")
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    (code,) = [block for block in blocks if "server.emulator.set_faults" in block]
    exec(compile(code, str(DOC), "exec"), {})


def test_faults_last_one_test(tmp_path: Path) -> None:
    tests = (
        STATUS_HELPER
        + """

def test_faults_set(wire_server, wire_faults):
    wire_faults.set("status=503")
    assert [status(wire_server.base_url) for _ in range(2)] == [503, 503]


def test_the_next_test_is_calm(wire_server):
    assert status(wire_server.base_url) == 200


def test_times(wire_server, wire_faults):
    wire_faults.set("status=500;times=1")
    assert [status(wire_server.base_url) for _ in range(2)] == [500, 200]


def test_chaos_for_one_test(wire_server, wire_faults):
    wire_faults.chaos("3:1")
    status(wire_server.base_url)
    assert [record.n for record in wire_faults.log] == [1]
    assert wire_faults.log[0].target == "/v1/models"


def test_no_chaos_after_it(wire_server):
    assert wire_server.emulator.chaos is None
    assert status(wire_server.base_url) == 200


def test_failing_on_purpose(wire_server, wire_faults):
    wire_faults.set("status=500")
    assert status(wire_server.base_url) == 200
"""
    )
    status, output = run_pytest(tmp_path, {"test_faults.py": tests})
    assert status == 1, output
    assert outcome(output) == "1 failed, 5 passed"
    assert "test_failing_on_purpose" in output


def test_session_options(tmp_path: Path) -> None:
    tests = (
        STATUS_HELPER
        + """
from wire.testing.chaos import Chaos


def test_seed(wire_server):
    assert wire_server.emulator.seed == 5


def test_chaos_from_the_start_of_each_test(wire_server, wire_faults):
    assert wire_server.emulator.chaos == Chaos(3, 1.0)
    status(wire_server.base_url)
    assert [record.n for record in wire_faults.log] == [1]


def test_again(wire_server, wire_faults):
    status(wire_server.base_url)
    assert [record.n for record in wire_faults.log] == [1]
"""
    )
    status, output = run_pytest(
        tmp_path, {"test_options.py": tests}, "--wire-seed", "5", "--wire-chaos", "3:1"
    )
    assert (status, outcome(output)) == (0, "3 passed"), output


def test_a_suite_without_the_fixtures_runs_as_before(tmp_path: Path) -> None:
    tests = """
import sys
import threading


def test_nothing_started():
    assert threading.active_count() == 1
    assert "wire.testing.server" not in sys.modules
    assert "wire.testing.pytest_plugin" in sys.modules
"""
    status, output = run_pytest(tmp_path, {"test_plain.py": tests})
    assert (status, outcome(output)) == (0, "1 passed"), output
    status, output = run_pytest(tmp_path / "off", {"test_plain.py": tests}, "-p", "no:wire")
    assert (status, outcome(output)) == (1, "1 failed"), output
    assert "assert 'wire.testing.pytest_plugin' in" in output  # turned off, not loaded


def test_the_replay_fixture_serves_a_capture(tmp_path: Path) -> None:
    anthropic = pytest.importorskip("anthropic")
    from wire.testing import serve

    capture = tmp_path / "capture.wire"
    prompt = [{"role": "user", "content": "Hi"}]
    with serve() as upstream:
        command = [sys.executable, "-m", "wire", "record", "--upstream", upstream.base_url]
        command += ["--port", "0", "--out", str(capture)]
        with subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env()
        ) as recorder:
            try:
                assert recorder.stdout is not None
                found = re.search(r"https?://[\w.\[\]:]+", recorder.stdout.readline())
                assert found, "wire record printed no URL"
                with anthropic.Anthropic(api_key="sk-test", base_url=found.group(0)) as client:
                    recorded = client.messages.create(
                        model="claude-opus-4-6", max_tokens=32, messages=prompt
                    )
            finally:
                recorder.send_signal(signal.SIGINT)
                recorder.communicate(timeout=60)
    tests = f"""
import anthropic


def test_replayed(wire_replay):
    server = wire_replay({str(capture)!r}, speed=0)
    with anthropic.Anthropic(api_key="sk-test", base_url=server.base_url) as client:
        reply = client.messages.create(model="claude-opus-4-6", max_tokens=32, messages={prompt!r})
    assert reply.content[0].text == {recorded.content[0].text!r}
"""
    status, output = run_pytest(tmp_path / "replay", {"test_replay.py": tests})
    assert (status, outcome(output)) == (0, "1 passed"), output


# --- bad options: a usage error naming the option; the key never printed ----------------------


class FakeConfig:
    """What the plugin reads of a `pytest.Config`: options and ini values."""

    def __init__(self, options: dict[str, object], ini: dict[str, str]) -> None:
        self.options, self.ini = options, ini

    def getoption(self, name: str) -> object:
        return self.options.get(name)

    def getini(self, name: str) -> str:
        return self.ini.get(name, {"wire_seed": "0"}.get(name, ""))


@given(value=st.text(max_size=30), where=st.sampled_from(["option", "ini"]))
@settings(max_examples=150)
def test_any_seed_or_chaos_value_is_taken_or_refused_naming_its_option(
    value: str, where: str
) -> None:
    from wire.testing import pytest_plugin as plugin

    for name, check in (("seed", plugin._seed), ("chaos", plugin._chaos)):
        if where == "option":
            config = FakeConfig({f"--wire-{name}": value}, {})
            named = f"--wire-{name}"
        else:
            config = FakeConfig({}, {f"wire_{name}": value})
            named = f"wire_{name}"
        refused: pytest.UsageError | None = None
        try:
            check(cast(pytest.Config, config))
        except pytest.UsageError as exc:  # anything else fails the test
            refused = exc
        if refused is not None:
            assert str(refused).startswith(f"{named}: "), refused


@pytest.mark.parametrize(
    ("args", "ini", "named"),
    [
        ((), "wire_seed = five\n", "wire_seed"),
        (("--wire-chaos", "x:y"), "", "--wire-chaos"),
        ((), "wire_chaos = 1:2\n", "wire_chaos"),
        (("--wire-seed", "five"), "", "--wire-seed"),
    ],
)
def test_a_bad_option_stops_the_run_as_a_usage_error(
    tmp_path: Path, args: tuple[str, ...], ini: str, named: str
) -> None:
    files = {"test_one.py": "def test_one(wire_server):\n    pass\n"}
    project = tmp_path / "project"
    project.mkdir()
    (project / "pytest.ini").write_text("[pytest]\n" + ini)
    for name, text in files.items():
        (project / name).write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=project,
        env=env_for(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 4, output  # pytest's usage error
    assert named in output
    assert "Traceback" not in output
    assert "ValueError" not in output


def test_the_plugin_never_prints_the_key(tmp_path: Path) -> None:
    key = "sk-ant-api03-PluginNeverPrints-5a4b"
    tests = STATUS_HELPER.replace('"x-api-key": "k"', f'"x-api-key": "{key}"') + (
        """

def test_fails_under_chaos(wire_server, wire_faults):
    wire_faults.chaos("7:1")
    status(wire_server.base_url)
    print(*wire_faults.log, sep="\\n")
    assert status(wire_server.base_url) == 999
"""
    )
    status, output = run_pytest(
        tmp_path, {"test_key.py": tests}, "-v", "-rA", "--wire-chaos", "3:1"
    )
    assert status == 1, output
    assert "chaos #1" in output
    assert key not in output
