"""Lint findings for NetworkPolicies, each with a stable rule ID.

A deny-all baseline (`podSelector: {}` and no rules) is the intended
foundation and is never reported as a problem. Any finding can be silenced on
its object (the policy, or the Namespace for namespace-level findings) with
the annotation `netpol-rollout.io/lint-ignore: "NP003,NP007"` (or `all`).
Checks that need workloads (selects nothing, unknown ports) run only when the
model has endpoints in that namespace; checks that need Namespace objects run
only when the model declares namespaces.
"""

from __future__ import annotations

from collections.abc import Iterable

from rollout.findings import LintFinding as Finding
from rollout.policy.evaluate import Analysis
from rollout.policy.lint_checks import CHECKS, RULES, LintContext
from rollout.policy.model import LINT_IGNORE_ANNOTATION, MANAGED_LABEL, ClusterModel, Policy

__all__ = ["RULES", "Finding", "lint"]


def lint(
    model: ClusterModel,
    managed_namespaces: Iterable[str] | None = None,
    *,
    pod_ip_in_ipblock: bool = True,
) -> list[Finding]:
    """All findings for `model`, sorted by object and rule ID.

    `managed_namespaces` are those that must have default-deny baselines; by
    default, namespaces labelled `netpol-rollout.io/managed=true` if any are,
    else every namespace holding a NetworkPolicy.
    """
    analysis = Analysis(model, pod_ip_in_ipblock=pod_ip_in_ipblock)
    ctx = LintContext(model, analysis, _managed(model, managed_namespaces))
    findings = [f for check in CHECKS for f in check(ctx)]
    refs = {p.ref: p for p in model.policies}
    return sorted(f for f in findings if not _silenced(model, f, refs))


def _managed(model: ClusterModel, given: Iterable[str] | None) -> list[str]:
    if given is not None:
        return sorted(set(given))
    labelled = [n.name for n in model.namespaces.values() if n.labels.get(MANAGED_LABEL) == "true"]
    return sorted(labelled) if labelled else sorted({p.namespace for p in model.policies})


def _silenced(model: ClusterModel, finding: Finding, refs: dict[str, Policy]) -> bool:
    for obj in (finding.object, *finding.related):
        kind, _, rest = obj.partition("/")
        if kind == "Namespace":
            ns = model.namespaces.get(rest)
            annotations = ns.annotations if ns else {}
        else:
            policy = refs.get(obj)
            annotations = policy.annotations if policy else {}
        raw = annotations.get(LINT_IGNORE_ANNOTATION, "")
        ids = {i.strip().upper() for i in raw.split(",")}
        if finding.id in ids or "ALL" in ids:
            return True
    return False
