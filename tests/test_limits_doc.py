"""docs/limits.md's table states the defaults the code has."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import wire

TABLE = (Path(__file__).parent.parent / "docs" / "limits.md").read_text()
UNITS = {"KiB": 1024, "MiB": 1024 * 1024}


def rows() -> list[tuple[str, list[str], str, str]]:
    found = []
    for line in TABLE.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 5 or (not cells[0].startswith("`max") and "floor" not in cells[0]):
            continue
        limit = cells[0].strip("`")
        owners = re.findall(r"`(\w+)`", cells[1])
        found.append((limit, owners, cells[2], cells[4]))
    return found


def value(text: str) -> float:
    number, _, unit = text.partition(" ")
    return float(number) * UNITS.get(unit, 1)


def test_every_row_states_the_code_default() -> None:
    seen = 0
    for limit, owners, default, _ in rows():
        for owner in owners:
            parameter = inspect.signature(getattr(wire, owner)).parameters[limit]
            assert parameter.default == value(default), (owner, limit)
            seen += 1
    assert seen >= 14


def test_every_named_error_is_a_wire_error() -> None:
    for _, _, _, error in rows():
        for name in re.findall(r"`(\w+Error)`", error):
            assert issubclass(getattr(wire, name), wire.WireError), name
