"""The proof at scale (issue 16): 8 processes on one key stay under the limits with wire's Limiter.

`bench/bench_limits.py` runs here, wire's side only and shorter (4 windows of a
5-second minute, ~25 s): 8 worker processes, each with its own
`wire.sync.Client(limiter=wire.Limiter())` and nothing shared, mix Opus and
Haiku requests of varied sizes against the emulator enforcing tier 1. The
server's own count must show at most 2% of requests answered 429 and, for each
model class, at least 85% of its tightest axis' budget used. The work is
waiting (loopback, small bodies), so a loaded machine slows nothing that counts.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("trio")

ROOT = Path(__file__).resolve().parents[1]


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_limits", ROOT / "bench" / "bench_limits.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def run() -> tuple[Any, str]:
    """One run (the two tests below read it): its report, and its figures as text."""
    bench = _bench()
    report = bench.run("wire", processes=8, threads=4, windows=4, minute_seconds=5.0, tier=1)
    what = "\n".join(bench.details(report))
    assert set(report.classes) == {"opus-4", "haiku-4"}, what
    assert report.sent >= 100, what
    return report, what


def test_eight_processes_on_one_key_use_their_budget(run: tuple[Any, str]) -> None:
    report, what = run
    for name, figures in report.classes.items():
        axis, tightest = figures.tightest
        assert tightest.share is not None, what
        assert tightest.share >= 0.85, f"{name}: {axis}\n{what}"


def test_eight_processes_on_one_key_are_rarely_refused(run: tuple[Any, str]) -> None:
    report, what = run
    assert report.refused <= 0.02 * report.sent, what
