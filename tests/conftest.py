"""Hypothesis profiles: `ci` (the default, fast) and `heavy`, chosen with the
HYPOTHESIS_PROFILE environment variable. Tests marked `heavy` are deselected by
default; run them with `pytest -m heavy` (add HYPOTHESIS_PROFILE=heavy for more)."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "heavy", max_examples=5_000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
