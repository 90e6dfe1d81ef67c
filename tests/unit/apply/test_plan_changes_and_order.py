"""The pure planner: change detection (defaults are not changes, drift is
marked), prune scope, and the phase of each kind of write."""

from __future__ import annotations

import copy
from typing import Any

from rollout.core.objects import (
    HASH_ANNOTATION,
    MANAGED_BY_LABEL,
    DesiredObject,
    Manifest,
    desired_object,
)
from rollout.core.plan import Action, compute_plan
from rollout.core.selectors import contains, disjoint


def _np(name: str, spec: dict[str, Any], ns: str = "a") -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


def _desired(name: str, spec: dict[str, Any]) -> DesiredObject:
    return desired_object(
        Manifest(_np(name, spec), f"{name}.yaml", 1), environment="e", commit_sha="1" * 40
    )


def _as_served(d: DesiredObject) -> dict[str, Any]:
    """What the apiserver returns: empty lists omitted, server fields added."""
    live = copy.deepcopy(d.body)
    live["metadata"].update(resourceVersion="7", uid="u", managedFields=[])
    for key in ("ingress", "egress"):
        if not live["spec"][key]:
            del live["spec"][key]
    return live


WEB = {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"ports": [{"port": 80}]}]}
DENY = {"podSelector": {}, "policyTypes": ["Ingress"]}


def _order(plan: Any) -> dict[str, list[str]]:
    return {
        s.phase.name: [f"{w.change.key.name}{'*' if w.interim else ''}" for w in s.writes]
        for s in plan.steps
    }


def test_server_defaults_are_not_changes_and_a_new_sha_alone_writes_nothing() -> None:
    d = _desired("web", WEB)
    live = _as_served(d)
    again = desired_object(d.manifest, environment="e", commit_sha="2" * 40)
    plan = compute_plan([again], {d.key: live}, {d.key: live})
    assert plan.counts["unchanged"] == 1 and plan.is_noop


def test_hand_edit_is_drift_with_a_field_diff() -> None:
    d = _desired("web", WEB)
    live = _as_served(d)
    live["spec"]["ingress"][0]["ports"][0]["port"] = 22
    (change,) = compute_plan([d], {d.key: live}, {d.key: live}).changes
    assert change.action is Action.UPDATE and change.drift
    assert [(f.path, f.before, f.after) for f in change.diff] == [
        ("spec.ingress[0].ports[0].port", 22, 80)
    ]


def test_changed_revision_is_not_drift() -> None:
    d = _desired("web", WEB)
    new = _desired("web", {**WEB, "ingress": [{"ports": [{"port": 8080}]}]})
    (change,) = compute_plan([new], {d.key: _as_served(d)}, {}).changes
    assert change.action is Action.UPDATE and not change.drift


def test_prune_only_our_objects_and_never_namespaces() -> None:
    old = _desired("old", WEB)
    ns = desired_object(
        Manifest({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}),
        environment="e",
        commit_sha="1" * 40,
    )
    prunable = {old.key: _as_served(old), ns.key: ns.body}
    plan = compute_plan([], {}, prunable)
    assert [(c.key.name, c.action) for c in plan.changes] == [("old", Action.DELETE)]
    assert compute_plan([], {}, prunable, prune=False).changes == ()
    assert old.body["metadata"]["labels"][MANAGED_BY_LABEL] == "netpol-rollout"


def test_order_widen_isolate_baseline_narrow_delete() -> None:
    base = _desired("deny", DENY)
    narrowed = _desired("web", {**WEB, "ingress": [{"ports": [{"port": 443}]}]})
    was_web = _desired("web", WEB)
    gone = _desired("gone", {"podSelector": {"matchLabels": {"app": "old"}}, "ingress": [{}]})
    live = {k.key: _as_served(k) for k in (base, was_web, gone)}
    desired = [
        base,
        narrowed,
        _desired("allow-api", {"podSelector": {"matchLabels": {"app": "api"}}, "ingress": [{}]}),
        _desired("egress-rules", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]}),
        _desired(
            "egress-deny",
            {"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Egress"]},
        ),
    ]
    plan = compute_plan(desired, {k: v for k, v in live.items() if k != gone.key}, live)
    assert _order(plan) == {
        "WIDEN": ["allow-api", "web*"],  # covered by "deny"; union of old and new rules
        "ISOLATE": ["egress-rules"],
        "BASELINE": ["egress-deny"],
        "NARROW": ["web"],
        "DELETE": ["gone"],
    }
    interim = plan.steps[0].writes[1].body
    assert interim is not None and interim["metadata"]["annotations"][HASH_ANNOTATION] == "interim"
    assert [r["ports"][0]["port"] for r in interim["spec"]["ingress"]] == [80, 443]
    assert plan.warnings == ()


def test_two_new_rule_carrying_isolating_policies_on_the_same_pods_warn() -> None:
    a = _desired(
        "a1",
        {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"ports": [{"port": 80}]}]},
    )
    b = _desired(
        "a2",
        {"podSelector": {"matchLabels": {"tier": "front"}}, "ingress": [{"ports": [{"port": 81}]}]},
    )
    c = _desired(
        "a3",
        {
            "podSelector": {"matchLabels": {"app": "db", "tier": "back"}},
            "ingress": [{"ports": [{"port": 81}]}],
        },
    )
    warnings = compute_plan([a, b, c], {}, {}).warnings
    assert len(warnings) == 1 and "a1" in warnings[0] and "a2" in warnings[0]


def test_selector_reasoning_is_conservative() -> None:
    web = {"matchLabels": {"app": "web"}}
    assert contains({}, web) and not contains(web, {})
    assert contains(
        {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}, web
    )
    assert contains({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, web)
    assert disjoint(web, {"matchLabels": {"app": "db"}})
    assert not disjoint(web, {"matchLabels": {"tier": "front"}})
    assert disjoint(web, {"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]})
