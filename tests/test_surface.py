"""The root's `__all__` is the documented surface: docs/api.md plus the tree of docs/errors.md."""

from __future__ import annotations

import re
from pathlib import Path

import wire

DOCS = Path(__file__).parent.parent / "docs"


def documented_names() -> set[str]:
    api = (DOCS / "api.md").read_text()
    body = api.split("\n## ", 1)[1]  # the root's names: the list items after the first heading
    names = set(re.findall(r"^- `(\w+)`", body, re.MULTILINE))
    tree = (DOCS / "errors.md").read_text().split("```text", 1)[1].split("```", 1)[0]
    names |= set(re.findall(r"^[│├└─ ]*(\w+Error)\b", tree, re.MULTILINE))
    return names


def test_the_root_exports_exactly_the_documented_surface() -> None:
    documented = documented_names()
    exported = set(wire.__all__)
    assert sorted(exported - documented) == [], "exported but not documented"
    assert sorted(documented - exported) == [], "documented but not exported"


def test_no_exported_name_comes_from_a_public_module_but_the_builders() -> None:
    for name in wire.__all__:
        module = getattr(getattr(wire, name), "__module__", "wire")
        if module is None or not module.startswith("wire."):
            continue  # unions, strings
        assert module.split(".")[1].startswith("_") or module == "wire.builders", (name, module)
