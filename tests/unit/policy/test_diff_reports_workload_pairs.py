"""policy diff reads per workload pair by default: replicas gathered into their
Deployment, port ranges joined, pod pairs counted; JSON keeps the pod rows too."""

from __future__ import annotations

import json
from typing import Any

from rollout.policy import connectivity_diff
from rollout.policy.diff_workloads import workload_changes, workload_diff_text
from rollout.policy.report import diff_json
from tests.unit.policy.builders import labels, model, ns, pod, policy


def replica(name: str, app: str) -> dict[str, Any]:
    obj = pod("shop", f"{app}-x7k2p9d4f5-{name}", {"app": app, "pod-template-hash": "x7k2p9d4f5"})
    obj["metadata"]["ownerReferences"] = [
        {"kind": "ReplicaSet", "name": f"{app}-x7k2p9d4f5", "controller": True}
    ]
    return obj


BASE = (
    ns("shop"),
    replica("a", "web"),
    replica("b", "web"),
    replica("a", "api"),
    policy("shop", "deny", policy_types=["Ingress"]),
)
OPEN = policy(
    "shop",
    "api-in",
    podSelector=labels(app="api"),
    ingress=[
        {
            "from": [{"podSelector": labels(app="web")}],
            "ports": [
                {"port": 80},
                {"port": 8000, "endPort": 8100},
                {"port": 53, "protocol": "UDP"},
            ],
        }
    ],
)


def test_opened_ports_of_two_replicas_are_one_workload_row() -> None:
    d = connectivity_diff(model(*BASE), model(*BASE, OPEN))
    assert len(d.opened) == 6  # 2 pods x 3 ranges
    rows = workload_changes(d, "opened")
    assert [(w.source, w.destination, w.ports, w.pod_pairs) for w in rows] == [
        ("shop/web[Deployment]", "shop/api[Deployment]", "TCP 80,8000-8100; UDP 53", 2)
    ]
    assert rows[0].policies == ("NetworkPolicy/shop/api-in",)
    text = workload_diff_text(d)
    assert "+ shop/web[Deployment] => shop/api[Deployment] : TCP 80,8000-8100; UDP 53" in text
    stored = json.loads(diff_json(d))
    assert stored["workloads"]["opened"][0]["pod_pairs"] == 2
    assert len(stored["opened"]) == 6 and stored["workloads"]["closed"] == []
