"""Shared test plugins.

The real-cluster fixtures (tests/harness) load only when their modules are
present, so a partial checkout still collects; CI turns the resulting skips
into failures (.ci/run).
"""

from __future__ import annotations

from pathlib import Path

import pytest

_HARNESS = Path(__file__).with_name("harness")

pytest_plugins = [
    f"tests.harness.{name}"
    for name in ("fixtures", "node_fixtures")
    if (_HARNESS / f"{name}.py").is_file()
]


# Markers whose tests CI must run, never skip (.ci/run reads this from the JUnit XML).
CI_REQUIRED_MARKERS = frozenset({"integration", "e2e", "postgres", "browser"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        required = sorted({m.name for m in item.iter_markers()} & CI_REQUIRED_MARKERS)
        if required:
            item.user_properties.append(("ci_required_markers", ",".join(required)))
