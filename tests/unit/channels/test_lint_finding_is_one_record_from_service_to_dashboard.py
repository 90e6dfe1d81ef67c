"""A lint finding the service stores reads back as the same record everywhere.

The service stored `{"code", "location"}` and the dashboard read
`{"id", "object", "origin"}`, so the rule and object columns were empty.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any, cast

from rollout.findings import LintFinding, findings_from_json
from rollout.manifests import load_text, split_origins
from rollout.policy import lint, load_cluster
from rollout.revision import RenderedRevision
from rollout.server.dashboard.detail import _lint as dashboard_lint_table
from rollout.wiring import change_analysis

POLICIES = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-egress, namespace: shop}
spec: {podSelector: {}, policyTypes: [Egress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: ghost, namespace: shop}
spec: {podSelector: {matchLabels: {app: ghost}}, policyTypes: [Ingress]}
"""
LIVE: list[dict[str, Any]] = [
    {"kind": "Namespace", "metadata": {"name": "shop"}},
    {
        "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web"}]},
    },
]


def _revision() -> RenderedRevision:
    manifests = tuple(load_text(POLICIES, "shop/deny.yaml"))
    return RenderedRevision("staging", "a" * 40, manifests, (), "hash")


def test_the_stored_lint_artifact_reads_back_as_the_findings_lint_made() -> None:
    revision = _revision()
    env = cast(Any, SimpleNamespace(name="staging", namespaces=["shop"], observed_flows=None))
    objects, origins = split_origins(revision.manifests)
    model = load_cluster(LIVE + objects, origins=["cluster staging"] * len(LIVE) + origins)
    expected = lint(model, ["shop"])
    assert {f.id for f in expected} >= {"NP003", "NP005"}

    stored = json.loads(json.dumps(change_analysis(env, LIVE, None, revision).lint))

    assert findings_from_json(stored) == tuple(expected)


def test_the_dashboard_shows_rule_object_and_origin_of_stored_findings() -> None:
    revision = _revision()
    env = cast(Any, SimpleNamespace(name="staging", namespaces=["shop"], observed_flows=None))
    stored = json.loads(json.dumps(change_analysis(env, LIVE, None, revision).lint))

    html = dashboard_lint_table(stored)

    assert "<code>NP005</code>" in html
    assert "<code>NetworkPolicy/shop/ghost</code>" in html
    assert "shop/deny.yaml:7" in html


def test_findings_stored_by_older_versions_still_read() -> None:
    old = {"findings": [{"severity": "error", "code": "NP003", "message": "m", "location": "X/y"}]}
    assert findings_from_json(old) == (LintFinding("X/y", "NP003", "error", "m"),)
