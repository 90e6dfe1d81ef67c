"""A change that cuts observed flows is held by `breaks_observed_flows`; a reviewer acknowledges.

The real server and store; the rollout carries the replay's cut flows in its
`risk` artifact as the engine stores them.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from rollout.cli.main import cli
from tests.integration.approvals.conftest import CONFIG, Service

pytestmark = pytest.mark.integration

FLOW = "batch/report-job -> database/postgres 5432/TCP"
CUT = {
    "source": "batch/report-job",
    "source_kind": "CronJob",
    "destination": "database/postgres",
    "destination_kind": "StatefulSet",
    "port": 5432,
    "protocol": "TCP",
    "count": 1204,
    "first_seen": "2026-02-27T02:14:00Z",
    "last_seen": "2026-03-02T02:14:09Z",
    "reason": "denied after the change by the ingress of database/postgres",
}


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    data: dict[str, Any] = copy.deepcopy(CONFIG)
    data["store"] = {"url": f"sqlite:///{tmp_path / 'state.db'}"}
    data["environments"][1]["approvals"]["risk_rules"].append(
        {"name": "observed-traffic", "when": "breaks_observed_flows", "block": True}
    )
    path = tmp_path / "rollout.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def cutting_rollout(service: Service) -> str:
    record = service.rollout()
    service.store.set_artifacts(
        record.id, {"risk": {"opened": [], "cut_flows": [CUT], "observed_window": "7d"}}
    )
    return record.id


def test_approvals_do_not_release_a_held_rollout_until_the_flow_is_acknowledged(
    service: Service,
) -> None:
    rollout_id = cutting_rollout(service)
    tokens = {m: service.token(m) for m in ("alice", "bob", "dave")}
    srv = ("--server", service.url)

    first = run("approve", rollout_id, *srv, "--token", tokens["bob"])
    assert first.exit_code == 0, first.output
    second = run("approve", rollout_id, *srv, "--token", tokens["alice"])
    assert second.exit_code == 0, second.output
    assert service.state(rollout_id) == "awaiting_approval"
    assert (
        "blocked: risk rule 'observed-traffic': this change would cut 1 flow seen in the last "
        "7d: batch/report-job -> database/postgres 5432/TCP, last seen 2026-03-02 02:14 UTC, "
        "1,204 times; blocked until each cut flow is acknowledged or the change is fixed"
    ) in second.stdout

    # The author may not accept their own cut; a flow the change does not cut is refused.
    own = run(
        "approve",
        rollout_id,
        *srv,
        "--token",
        tokens["dave"],
        "--acknowledge",
        FLOW,
        "--reason",
        "mine",
    )
    assert own.exit_code == 8 and "authored this change" in own.stderr
    wrong = run(
        "approve",
        rollout_id,
        *srv,
        "--token",
        tokens["alice"],
        "--acknowledge",
        "a/b -> c/d 1/TCP",
        "--reason",
        "x",
    )
    assert wrong.exit_code == 8 and f"(cut: {FLOW})" in wrong.stderr
    unexplained = run(
        "approve", rollout_id, *srv, "--token", tokens["alice"], "--acknowledge", FLOW
    )
    assert unexplained.exit_code == 8 and "needs a reason" in unexplained.stderr

    done = run(
        "approve",
        rollout_id,
        *srv,
        "--token",
        tokens["alice"],
        "--acknowledge",
        FLOW,
        "--reason",
        "the report job moved to the warehouse",
    )
    assert done.exit_code == 0, done.output
    assert f"alice acknowledged that {rollout_id} cuts {FLOW}" in done.stdout
    assert service.state(rollout_id) == "approved"
    (ack,) = service.store.events(rollout_id=rollout_id, kinds=["flow.acknowledged"])
    assert (ack.actor, ack.channel) == ("alice", "cli")
    assert ack.details["flow"] == FLOW
    assert ack.details["reason"] == "the report job moved to the warehouse"
    assert ack.details["commit_sha"] == "a" * 40
    refused = service.store.events(rollout_id=rollout_id, kinds=["approval.refused"])
    assert [e.actor for e in refused] == ["dave", "alice", "alice"]
