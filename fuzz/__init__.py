"""Coverage-guided fuzz harnesses for wire (atheris), usable without atheris via `check()`.

Each `fuzz/fuzz_*.py` exposes `check(data: bytes) -> None`, which raises
`AssertionError` (or lets an unexpected exception escape) when an invariant
breaks. See fuzz/README.md.
"""
