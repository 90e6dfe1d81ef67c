"""Shared test plugins.

The real-cluster fixtures (tests/harness) load only when their modules are
present, so a partial checkout still collects; CI turns the resulting skips
into failures (.ci/run).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# CI runs the same examples every time (a red CI must be reproducible) and
# never times an example out on a loaded machine; locally hypothesis explores.
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")

_HARNESS = Path(__file__).with_name("harness")

pytest_plugins = [
    f"tests.harness.{name}"
    for name in ("fixtures", "node_fixtures", "real_node_fixtures", "fleet_fixtures")
    if (_HARNESS / f"{name}.py").is_file()
]


# Markers whose tests CI must run, never skip (.ci/run reads this from the JUnit XML).
CI_REQUIRED_MARKERS = frozenset({"integration", "e2e", "postgres", "browser", "realnode"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        required = sorted({m.name for m in item.iter_markers()} & CI_REQUIRED_MARKERS)
        if required:
            item.user_properties.append(("ci_required_markers", ",".join(required)))
