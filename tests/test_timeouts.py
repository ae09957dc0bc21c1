"""`Timeout`: defaults, None disables one wait, a number sets them all, bad values named."""

from __future__ import annotations

import pytest

import wire


def test_defaults_are_documented_values() -> None:
    t = wire.Timeout()
    assert (t.connect, t.read, t.idle, t.stall, t.total) == (5.0, 600.0, 120.0, 300.0, None)
    assert wire.Timeout.of(None) == t


def test_a_field_left_out_keeps_its_default() -> None:
    t = wire.Timeout(stall=30, total=None)
    assert (t.connect, t.read, t.idle, t.stall) == (5.0, 600.0, 120.0, 30)


def test_a_number_applies_to_every_wait() -> None:
    t = wire.Timeout.of(7)
    assert (t.connect, t.read, t.idle, t.stall, t.total) == (7.0,) * 5
    assert wire.Timeout.of(t) is t


def test_none_disables_one_wait() -> None:
    assert wire.Timeout(idle=None).idle is None


@pytest.mark.parametrize("bad", [0, -1, True, "5", float("nan")])
def test_bad_values_are_named(bad: object) -> None:
    with pytest.raises(wire.InvalidParameterError) as info:
        wire.Timeout(read=bad)  # type: ignore[arg-type]
    assert info.value.parameter == "timeout.read"
    with pytest.raises(ValueError, match="timeout"):
        wire.Timeout.of(bad)  # type: ignore[arg-type]
