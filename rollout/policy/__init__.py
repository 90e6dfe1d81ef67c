"""The NetworkPolicy analysis engine. PURE: stdlib and `rollout.errors` only.

Input is plain dicts (parsed manifests or API objects); nothing here reads
files, talks to a cluster or looks at the clock.

    model = load_cluster(objects)              # Namespaces, Pods, workloads, Services, policies
    analysis = analyze(model)                  # equivalence classes + bitsets, compiled once
    analysis.allowed("shop", "web", "shop", "db", 5432, "TCP") -> bool
    explain(model, "shop/web", "shop/db", 5432, "TCP") -> Explanation   # .lines(), per-side reasons
    connectivity_diff(old_model, new_model, ports=None) -> ConnectivityDiff  # .opened, .closed
    lint(model, managed_namespaces=None) -> list[Finding]                    # NP001..NP014
    group_workloads(model.endpoints) -> WorkloadIndex   # pods -> Deployments, StatefulSets, ...

External addresses are endpoints with an empty namespace and a CIDR as name
(`load_cluster(objects, externals=["8.8.8.8"])`); a diff always reports
egress opened to or closed from external CIDRs. `analyze(...,
pod_ip_in_ipblock=False)` models network plugins (Cilium's default) that do
not match pod IPs in ipBlocks. Malformed objects raise `PolicyError` naming
`Kind/namespace/name` and the field. Formatters are in `rollout.policy.report`.
"""

from rollout.policy.diff import Connection, ConnectivityDiff, connectivity_diff
from rollout.policy.evaluate import Analysis, analyze
from rollout.policy.explain import Explanation, explain
from rollout.policy.lint import RULES as LINT_RULES
from rollout.policy.lint import Finding, lint
from rollout.policy.model import ClusterModel, Endpoint, Namespace, Policy, Service, load_cluster
from rollout.policy.workloads import Workload, WorkloadIndex, group_workloads

__all__ = [
    "LINT_RULES",
    "Analysis",
    "ClusterModel",
    "Connection",
    "ConnectivityDiff",
    "Endpoint",
    "Explanation",
    "Finding",
    "Namespace",
    "Policy",
    "Service",
    "Workload",
    "WorkloadIndex",
    "analyze",
    "connectivity_diff",
    "explain",
    "group_workloads",
    "lint",
    "load_cluster",
]
