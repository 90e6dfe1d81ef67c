"""The engine's public names other modules rely on."""

import rollout.policy


def test_public_api_is_pinned() -> None:
    assert set(rollout.policy.__all__) == {
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
    }


def test_lint_rule_ids_are_stable() -> None:
    assert sorted(rollout.policy.LINT_RULES) == [f"NP{i:03d}" for i in range(1, 15)]
