"""End to end: a commit that would cut a flow Hubble observed is held at production approval.

The service replays the production environment's `observed_flows` (a Hubble
JSON file) against the change; the `breaks_observed_flows` rule blocks, so
the approval alone does not release it; acknowledging the cut flow does.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import NAMESPACE, Deployment, policy

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

FLOW = f"{NAMESPACE}/client -> {NAMESPACE}/web 8080/TCP"


def _endpoint(pod: str, app: str, workload: str) -> dict[str, Any]:
    return {
        "ID": 7,
        "identity": 4242,
        "namespace": NAMESPACE,
        "labels": [f"k8s:app={app}", f"k8s:io.kubernetes.pod.namespace={NAMESPACE}"],
        "pod_name": pod,
        "workloads": [{"name": workload, "kind": "Deployment"}],
    }


def _hubble_lines(at: datetime, count: int) -> str:
    lines = []
    for i in range(count):
        when = (at + timedelta(seconds=i)).isoformat().replace("+00:00", "Z")
        flow = {
            "time": when,
            "verdict": "FORWARDED",
            "IP": {"source": "10.1.0.5", "destination": "10.1.0.9", "ipVersion": "IPv4"},
            "l4": {
                "TCP": {"source_port": 40000 + i, "destination_port": 8080, "flags": {"SYN": True}}
            },
            "source": _endpoint("client-6d9f-x1", "client", "client"),
            "destination": _endpoint("web-7c4b-k2", "web", "web"),
            "Type": "L3_L4",
            "node_name": "prod/worker-1",
            "event_type": {"type": 4, "sub_type": 3},
            "traffic_direction": "EGRESS",
            "is_reply": False,
        }
        lines.append(json.dumps({"flow": flow, "node_name": "prod/worker-1", "time": when}))
    return "\n".join(lines) + "\n"


@pytest.fixture
def observed(deployment: Deployment) -> Deployment:
    flows = deployment.root / "hubble-events.log"
    flows.write_text(_hubble_lines(datetime.now(UTC) - timedelta(hours=2), 3))
    config = yaml.safe_load(deployment.config.read_text())
    production = config["environments"][1]
    production["observed_flows"] = {"sources": [str(flows)], "window": "7d"}
    production["approvals"]["risk_rules"] = [
        {"name": "observed-traffic", "when": "breaks_observed_flows", "block": True}
    ]
    deployment.config.write_text(yaml.safe_dump(config))
    return deployment


def test_a_change_cutting_an_observed_flow_is_held_until_the_flow_is_acknowledged(
    observed: Deployment,
) -> None:
    deployment = observed
    deployment.start()
    change = {f"policies/{env}/web.yaml": policy("web", 9090) for env in ("staging", "production")}
    sha = deployment.remote.push(change, "web listens on 9090 now")
    rollout = deployment.wait_state(sha, "awaiting_approval", timeout=180)
    detail = deployment.api("GET", f"/rollouts/{rollout['id']}")
    reason = (
        "risk rule 'observed-traffic': this change would cut 1 flow seen in the last 7d: "
        f"{FLOW}, last seen "
    )
    assert any(r.startswith(reason) for r in detail["approval"]["reasons"]), detail
    assert detail["approval"]["blocked"] and "3 times" in detail["approval"]["blocked"][0]

    outcome = deployment.api("POST", f"/rollouts/{rollout['id']}/approve")
    assert not outcome["quorum_reached"]
    assert "blocked: risk rule 'observed-traffic'" in outcome["message"]
    assert deployment.rollout_for(sha)["state"] == "awaiting_approval"  # type: ignore[index]
    assert "web" not in deployment.policies(deployment.production)  # held: nothing applied

    done = deployment.api(
        "POST",
        f"/rollouts/{rollout['id']}/acknowledge-flow",
        json={"flow": FLOW, "reason": "clients moved to 9090 last week"},
    )
    assert done["quorum_reached"], done
    deployment.wait_state(sha, "done", timeout=180)
    assert deployment.policies(deployment.production)["web"] == 9090
    assert deployment.terminate() == 0
