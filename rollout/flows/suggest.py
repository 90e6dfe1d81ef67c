"""Smoke-test expectations proposed from the busiest observed flows.

PURE. Each suggestion is a `smoke-tests.yaml` test (docs/smoke-tests.md):
the probe starts in the source's namespace with its labels, so the policies
judge it as they judge the real workload. Labels that name one pod or one
rollout of a workload (`pod-template-hash`, ...) are left out; a flow whose
source has no known labels cannot be imitated and is listed as skipped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rollout.flows.aggregate import ObservedFlow
from rollout.flows.resolve import describe

# Labels of one pod or one revision of a workload, not of the workload.
VOLATILE_LABELS = (
    "pod-template-hash",
    "controller-revision-hash",
    "pod-template-generation",
    "statefulset.kubernetes.io/pod-name",
    "apps.kubernetes.io/pod-index",
    "controller-uid",
    "job-name",
    "batch.kubernetes.io/controller-uid",
    "batch.kubernetes.io/job-name",
    "batch.kubernetes.io/job-completion-index",
)
_NAME_PART = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class Suggestions:
    tests: tuple[dict[str, Any], ...]
    skipped: tuple[str, ...]  # "flow: why"


def _labels(pairs: Sequence[tuple[str, str]] | None) -> dict[str, str] | None:
    if pairs is None:
        return None
    return {k: v for k, v in pairs if k not in VOLATILE_LABELS}


def _name(flow: ObservedFlow) -> str:
    raw = f"{flow.source.name}-to-{flow.destination.name}-{flow.port}".lower()
    return _NAME_PART.sub("-", raw).strip("-")[:63].strip("-")


def suggest_smoke_tests(flows: Sequence[ObservedFlow], top: int = 10) -> Suggestions:
    """`expect: allow` tests for the `top` busiest flows that can be imitated."""
    tests: list[dict[str, Any]] = []
    skipped: list[str] = []
    names: set[str] = set()
    for flow in flows:  # busiest first
        if len(tests) >= top:
            break
        shown = f"{describe(flow.source)} -> {describe(flow.destination)} {flow.port}"
        source_labels = _labels(flow.source_seen.labels)
        if flow.protocol not in ("TCP", "UDP"):
            skipped.append(f"{shown}: smoke tests probe TCP and UDP only")
            continue
        if flow.source.is_external:
            skipped.append(f"{shown}: the source is outside the cluster")
            continue
        if not source_labels:
            skipped.append(f"{shown}: the source's labels are unknown (no metadata or snapshot)")
            continue
        if flow.destination.is_external:
            target: dict[str, Any] = {"host": flow.destination.name}
        else:
            dest_labels = _labels(flow.destination_seen.labels)
            if dest_labels is None:
                skipped.append(f"{shown}: the destination's labels are unknown")
                continue
            target = {"namespace": flow.destination.namespace, "labels": dest_labels}
        name = _name(flow)
        if name in names:
            name = f"{name[:58]}-{len(tests)}"
        names.add(name)
        tests.append(
            {
                "name": name,
                "from": {"namespace": flow.source.namespace, "labels": source_labels},
                "to": target,
                "port": flow.port,
                "protocol": flow.protocol,
                "expect": "allow",
            }
        )
    return Suggestions(tuple(tests), tuple(skipped))
