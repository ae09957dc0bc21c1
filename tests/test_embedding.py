"""docs/embedding.md's recipes run as written against the emulator (`wire.testing.serve()`)."""

from __future__ import annotations

import json
import re
import ssl
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from wire.testing import serve

PAGE = Path(__file__).resolve().parent.parent / "docs" / "embedding.md"
RECIPES = dict(re.findall(r"```python\n# recipe: ([\w-]+)\n(.*?)```", PAGE.read_text(), re.S))
NEEDS = {"httpx": "httpx", "httpx-async": "httpx", "aiohttp": "aiohttp"}
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy")


def test_the_page_has_every_recipe() -> None:
    assert sorted(RECIPES) == [
        "aiohttp",
        "asyncio",
        "capture",
        "httpx",
        "httpx-async",
        "socket",
    ]


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve(seed=0) as server:
        yield server.base_url


def run(name: str, monkeypatch: pytest.MonkeyPatch, base_url: str, argv: list[str]) -> None:
    if name in NEEDS:  # in the test extra; skipped only outside `pip install -e '.[test]'`
        pytest.importorskip(NEEDS[name])
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-recipe")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", base_url)
    for variable in PROXY_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(sys, "argv", ["recipe.py", *argv])
    code = compile(RECIPES[name], f"docs/embedding.md ({name})", "exec")
    exec(code, {"__name__": "__main__"})


@pytest.mark.parametrize("name", ["asyncio", "httpx", "httpx-async", "aiohttp", "socket"])
def test_a_recipe_streams_a_reply(
    name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], base_url: str
) -> None:
    run(name, monkeypatch, base_url, [])
    out = capsys.readouterr().out
    assert "“Hello”" in out  # the emulator's reply quotes the prompt
    assert "end_turn" in out


def test_the_socket_recipe_reuses_its_connection(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], base_url: str
) -> None:
    run("socket", monkeypatch, base_url, [])
    out = capsys.readouterr().out
    assert re.search(r"input tokens: \d+; reused: True", out)
    assert re.search(r"request req_\w+, requests left this minute: \d+\]", out)


def test_the_socket_recipe_over_tls(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))  # the recipe's default context
    with serve(ssl_context=server_context) as server:
        assert server.base_url.startswith("https://")
        run("socket", monkeypatch, server.base_url, [])
    assert "“Hello”" in capsys.readouterr().out


def test_the_capture_recipe_decodes_a_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    raw = (resources.files("wire") / "samples" / "tool_use.sse").read_bytes()
    (tmp_path / "capture.sse").write_bytes(raw)
    run("capture", monkeypatch, "http://unused.invalid", [str(tmp_path / "capture.sse")])
    out = capsys.readouterr().out
    assert out.startswith("MessageStart\n")
    assert "incomplete" not in out
    assert "tool_use ['text', 'tool_use']" in out
    assert json.loads((tmp_path / "capture.sse.json").read_text())["stop_reason"] == "tool_use"

    (tmp_path / "cut.sse").write_bytes(raw[: len(raw) // 2])
    run("capture", monkeypatch, "http://unused.invalid", [str(tmp_path / "cut.sse")])
    out = capsys.readouterr().out
    assert "incomplete: stream ended before message_stop" in out
    assert "None ['text'" in out  # the partial message: no stop reason yet
