"""Shared test configuration: the hypothesis profiles.

``dev`` (the default) explores with fresh random examples on every run; ``ci``
(chosen when the environment variable ``CI`` is set, or with
``HYPOTHESIS_PROFILE=ci``) is derandomized, so a CI run is repeatable, and keeps no
example database.  Both are sized so the whole suite stays within a few minutes on
two cores.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "dev",
    max_examples=100,
    deadline=None,
)
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)
