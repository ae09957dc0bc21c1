"""`wire limits`: the budget table (pure, from `RateLimits`), and the command against the emulator.

The table is `wire._budget.budget_table`: properties hold it aligned and honest
(a share is never rounded up to 100%). The command runs in a subprocess
(`python -m wire limits ...`) against `wire.testing.serve()`: once, `--watch`
for a bounded number of rounds (the hidden `--count`), through a 429, on a
terminal (a pty: the redraw), and interrupted (Ctrl-C: 130, no traceback).
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wire import Limit, RateLimits
from wire._budget import budget_json, budget_table

pytest.importorskip("trio")
from wire.testing import serve  # needs trio

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-ant-limits-test-Hq7Xw2-never-printed"
TIMEOUT = 30
NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z
WIRE_LIMITS = [sys.executable, "-m", "wire", "limits"]
HEADER = ["budget", "limit", "remaining", "left", "full", "at"]


# --- the table ------------------------------------------------------------------------------


def test_a_table_row_per_reported_limit() -> None:
    limits = RateLimits(
        requests=Limit(50, 49, NOW + 1.5),
        input_tokens=Limit(30_000, 29_000, NOW + 12.25),
        output_tokens=Limit(8_000, None, None),
        extra={"anthropic-fast-input-tokens-limit": "5"},
    )
    lines = budget_table(limits, NOW)
    assert lines[0].split() == HEADER
    assert lines[1].split() == [
        "requests",
        "50",
        "49",
        "98.0%",
        "00:00:01.500Z",
        "(in",
        "1.5",
        "s)",
    ]
    assert lines[2].split() == [
        "input",
        "tokens",
        "30,000",
        "29,000",
        "96.6%",
        "00:00:12.250Z",
        "(in",
        "12",
        "s)",
    ]
    assert lines[3].split() == ["output", "tokens", "8,000", "?", "?", "?"]
    assert lines[4] == "  anthropic-fast-input-tokens-limit: 5"
    assert budget_table(RateLimits(), NOW) == ["  none reported"]


def test_the_json_form_keeps_the_reported_limits() -> None:
    limits = RateLimits(requests=Limit(50, 49, NOW), retry_after=2.0)
    assert budget_json(limits) == {
        "requests": {"limit": 50, "remaining": 49, "reset": NOW},
        "retry_after": 2.0,
        "extra": {},
    }


counts = st.none() | st.integers(0, 10**12)
limits_strategy = st.builds(
    Limit,
    counts,
    counts,
    st.none() | st.floats(NOW - 100, NOW + 10**6, allow_nan=False),
)


@settings(max_examples=60, deadline=None)
@given(
    st.builds(
        RateLimits,
        requests=limits_strategy,
        tokens=limits_strategy,
        input_tokens=limits_strategy,
        output_tokens=limits_strategy,
    )
)
def test_columns_line_up_and_no_share_is_rounded_up(limits: RateLimits) -> None:
    lines = budget_table(limits, NOW)
    if lines == ["  none reported"]:
        return
    header, rows = lines[0], lines[1:]
    # Each numeric column is right-aligned: its cells end where its header ends.
    ends = [header.index(name) + len(name) for name in ("limit", "remaining", "left")]
    for row in rows:
        for end in ends:
            assert row[end - 1] != " ", (header, row)
            assert end == len(row) or row[end] == " ", (header, row)
        share = row[ends[1] : ends[2]].strip()
        if share != "?":
            assert 0.0 <= float(share.rstrip("%")) <= 100.0
    for attr in ("requests", "tokens", "input_tokens", "output_tokens"):
        limit: Limit = getattr(limits, attr)
        if limit.limit and limit.remaining is not None and limit.remaining < limit.limit:
            assert "100.0%" not in lines[1 + _row_of(limits, attr)]


def _row_of(limits: RateLimits, attr: str) -> int:
    shown = [
        a
        for a in ("requests", "tokens", "input_tokens", "output_tokens")
        if getattr(limits, a).limit is not None or getattr(limits, a).remaining is not None
    ]
    return shown.index(attr)


# --- the command ----------------------------------------------------------------------------


def _env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().endswith("_PROXY") and not k.startswith("ANTHROPIC_")
    }
    return {**env, "ANTHROPIC_API_KEY": KEY}


def limits_cli(*args: str) -> str:
    """`python -m wire limits ARGS`: its stdout, once it exited 0 with nothing on stderr."""
    proc = subprocess.run(
        [*WIRE_LIMITS, *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=ROOT,
        env=_env(),
    )
    assert (proc.returncode, proc.stderr) == (0, ""), (proc.stdout, proc.stderr)
    assert KEY not in proc.stdout
    return proc.stdout


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve(api_key=KEY) as server:
        yield server.base_url


def tables(out: str) -> list[list[str]]:
    """The tables a plain (not a terminal) watch printed: blank-line separated."""
    return [block.splitlines() for block in out.strip("\n").split("\n\n")]


def remaining_requests(table: list[str]) -> int:
    row = next(line for line in table if line.split()[0] == "requests")
    return int(row.split()[2].replace(",", ""))


def test_once_prints_the_model_class_and_a_table(url: str) -> None:
    [table] = tables(limits_cli("--base-url", url, "--model", "claude-haiku-4-5"))
    assert table[0].startswith("rate limits for claude-haiku-4-5 (class haiku-4; request id req_")
    assert table[1].split() == HEADER
    names = [line.split()[0] for line in table[2:]]
    assert names[0] == "requests"
    assert {"input", "output"} <= set(names)


def test_watch_prints_a_table_a_round_and_the_budget_drains(url: str) -> None:
    out = limits_cli("--base-url", url, "--watch", "0.05", "--count", "3")
    rounds = tables(out)
    assert len(rounds) == 3
    left = [remaining_requests(t) for t in rounds]
    # Each round is one request; the minute may roll over in between (then it refills).
    assert left[1] < left[0] or left[2] < left[1]


def test_watch_json_is_one_object_a_round(url: str) -> None:
    out = limits_cli("--base-url", url, "--watch", "0.05", "--count", "2", "--json")
    rounds = [json.loads(line) for line in out.splitlines()]
    assert len(rounds) == 2
    assert all(r["requests"]["limit"] >= r["requests"]["remaining"] for r in rounds)


def test_watch_shows_a_429_and_goes_on() -> None:
    # Two requests a minute: of six rounds (well inside a minute, at most one minute
    # boundary between them) some are answered 429; the watch shows them and goes on.
    with serve(api_key=KEY, enforce_limits=True, requests_per_minute=2) as server:
        out = limits_cli(
            "--base-url", server.base_url, "--max-retries", "0", "--watch", "0.01", "--count", "6"
        )
    titles = [t[0] for t in tables(out)]
    assert len(titles) == 6
    refused = [t for t in tables(out) if "; answered 429, retry after " in t[0]]
    assert refused, titles
    assert len(refused) <= 4, titles
    for table in refused:  # what the 429 reported, if it reported the requests at all
        if any(line.split()[0] == "requests" for line in table[1:]):
            assert remaining_requests(table) == 0


def test_watch_on_a_terminal_redraws_in_place(url: str) -> None:
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(
            [*WIRE_LIMITS, "--base-url", url, "--watch", "0.05", "--count", "2"],
            stdout=follower,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env=_env(),
        )
        os.close(follower)
        follower = -1
        seen = _read_all(leader, proc)
    finally:
        os.close(leader)
        if follower != -1:
            os.close(follower)
    _, err = proc.communicate(timeout=TIMEOUT)
    assert (proc.returncode, err) == (0, b"")
    text = seen.decode().replace("\r\n", "\n")
    first, _, second = text.partition("\x1b[")
    lines = first.count("\n")
    assert second.startswith(f"{lines}F\x1b[J"), text
    assert "\n\n" not in text


def _read_all(fd: int, proc: subprocess.Popen[bytes]) -> bytes:
    """What the child writes to the pty, until it exits (bounded by TIMEOUT)."""
    seen = b""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if select.select([fd], [], [], 0.2)[0]:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed its side
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    return seen


def test_ctrl_c_ends_the_watch_quietly_with_130(url: str) -> None:
    proc = subprocess.Popen(
        [*WIRE_LIMITS, "--base-url", url, "--watch", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=_env(),
    )
    assert proc.stdout is not None
    try:
        seen = b""
        deadline = time.monotonic() + TIMEOUT
        while seen.count(b"rate limits for") < 2 and time.monotonic() < deadline:
            if select.select([proc.stdout], [], [], 1)[0]:
                seen += os.read(proc.stdout.fileno(), 4096)
        assert seen.count(b"rate limits for") >= 2, seen
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=TIMEOUT)
    finally:
        proc.kill()
        proc.wait(timeout=TIMEOUT)
    assert proc.returncode == 130
    assert err == b""
