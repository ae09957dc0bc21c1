"""Chaos specs and set faults attacked: whatever a caller, a CLI argument or a pytest
option passes, a typed error naming what is wrong, short, raised at once (never a
failure on each later request)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wire.testing.chaos import MAX_FAULT_HEADER, Chaos, FaultControls
from wire.testing.faults import FaultError

specs = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"-?[0-9]{1,30}(:[-+0-9.eE]{0,12}|:nan|:inf)?", fullmatch=True),
    st.sampled_from(["9" * 5000, "x" * 100_000, "1:" + "5" * 5000, "١٢:0.5", " 7 : 0.5 "]),
)
seeds = st.one_of(st.integers(), st.sampled_from([2**64, -(2**63) - 1, 10**5000, -(10**5000)]))


def _usable(chaos: Chaos) -> None:
    for n in (1, 2, 10**6):
        chaos.fault(n, streams=True)
    repr(chaos)


@given(spec=specs)
@settings(max_examples=150, deadline=None)
def test_a_spec_is_a_chaos_or_a_short_value_error(spec: str) -> None:
    try:
        chaos: Chaos | None = Chaos.parse(spec)
        text = ""
    except ValueError as exc:
        chaos, text = None, str(exc)
    if chaos is None:
        assert "chaos" in text
        assert len(text) < 200
    else:
        _usable(chaos)


@given(seed=seeds)
@settings(max_examples=50, deadline=None)
def test_a_seed_is_usable_or_refused_at_once(seed: int) -> None:
    try:
        chaos: Chaos | None = Chaos.parse(seed)
        text = ""
    except ValueError as exc:
        chaos, text = None, str(exc)
    if chaos is None:
        assert "seed" in text
        assert len(text) < 200
    else:
        _usable(chaos)


@pytest.mark.parametrize(
    "header", [123, b"status=500", 1.5, ["status=500"], "x" * (MAX_FAULT_HEADER + 1)]
)
def test_set_faults_refuses_what_is_not_a_header(header: Any) -> None:
    with pytest.raises(FaultError, match="set_faults"):
        FaultControls().set_faults(header)


@given(header=st.one_of(st.text(max_size=60), st.from_regex(r"[a-z-]{1,12}=[^;]{0,10}")))
@settings(max_examples=100, deadline=None)
def test_set_faults_is_set_or_a_fault_error(header: str) -> None:
    controls = FaultControls()
    try:
        controls.set_faults(header)
    except FaultError:
        return
    controls.fault_for(None, "POST", "/v1/messages", b"{}")
