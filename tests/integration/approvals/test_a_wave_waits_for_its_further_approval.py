"""Approvals are given once per rollout and environment; a wave with its own
`approvals` waits for those too. Over the real HTTP API, the real engine and
approvals service, one SQLite store (the clusters are the engine tests' recording
ops): `approve` of a rollout whose fleet waits for such a wave approves that wave."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from rollout.approvals_service import ApprovalsService
from rollout.config.schema import Settings
from rollout.engine import RolloutEngine
from rollout.ports import Commit
from rollout.server.app import create_app
from rollout.server.auth import hash_token
from rollout.store import Store, open_store
from rollout.wiring import ApprovalGate
from tests.integration.approvals.conftest import START, Clock
from tests.support.serving import serving
from tests.unit.engine.conftest import Gate, RecordingOps, RecordingScheduler

pytestmark = pytest.mark.integration

SETTINGS: dict[str, Any] = {
    "repository": {"path": "/tmp/policies"},
    "team": {
        "members": [
            {"name": "alice", "timezone": "UTC", "groups": ["approvers"]},
            {"name": "bob", "timezone": "UTC", "groups": ["approvers"]},
            {"name": "yuki", "timezone": "Asia/Tokyo", "groups": ["sre-apac"]},
        ]
    },
    "environments": [
        {"name": "staging", "namespaces": ["apps"], "overlay": "staging"},
        {
            "name": "production",
            "namespaces": ["apps"],
            "overlay": "production",
            "approvals": {"required": 1, "groups": ["approvers"]},
            "clusters": [{"name": "eu-1"}, {"name": "ap-1"}],
            "waves": [
                {"name": "europe", "clusters": ["eu-1"]},
                {
                    "name": "apac",
                    "clusters": ["ap-1"],
                    "approvals": {"required": 1, "groups": ["sre-apac"]},
                },
            ],
        },
    ],
}


class World:
    def __init__(self, tmp_path: Path) -> None:
        self.clock = Clock(START)
        self.settings = Settings.model_validate(SETTINGS)
        self.store: Store = open_store(f"sqlite:///{tmp_path / 'state.db'}", clock=self.clock)
        self.ops = RecordingOps()
        gate = ApprovalGate(ApprovalsService(self.settings, self.store, self.clock))
        self.engine = RolloutEngine(
            self.settings,
            self.store,
            self.ops,
            Gate(),
            gate,
            RecordingScheduler(),
            lambda _r, _e, _d: [],
            self.clock,
        )

    def token(self, member: str) -> str:
        token = f"nrt_test_{member}_{time.monotonic_ns()}"
        self.store.create_token(member, hash_token(token))
        return token

    def state(self, rollout_id: str) -> str:
        record = self.store.get_rollout(rollout_id)
        assert record is not None
        return record.state


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    world = World(tmp_path)
    try:
        yield world
    finally:
        world.store.close()


def approve(url: str, token: str, rollout_id: str) -> requests.Response:
    return requests.post(
        f"{url}/api/v1/rollouts/{rollout_id}/approve",
        headers={"Authorization": f"Bearer {token}", "X-Rollout-Client": "cli"},
        timeout=10,
    )


def test_the_environment_approval_counts_once_and_the_wave_asks_for_its_own(
    world: World,
) -> None:
    rollout = world.engine.detect(Commit("c" * 40, "Carol", "carol@example.com", "m"), None)
    world.engine.drive_all()
    assert world.state(rollout.id) == "awaiting_approval"
    app = create_app(world.settings, world.store, clock=world.clock)
    with serving(app) as url:
        assert approve(url, world.token("alice"), rollout.id).status_code == 200
        world.engine.drive_all()
        progress = world.engine.advance(rollout.id)

        # Europe ran on the environment's approval; apac waits for its own.
        assert world.ops.deployed == {"staging": "c" * 40, "production/eu-1": "c" * 40}
        assert progress.waiting_for == (
            "wave apac needs a further approval: waiting for 1 more approval; can approve: yuki"
        )
        assert world.state(rollout.id) == "production_applied"

        refused = approve(url, world.token("bob"), rollout.id)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"] == (
            "bob may not approve this environment (allowed: group sre-apac)"
        )
        granted = approve(url, world.token("yuki"), rollout.id)
        assert granted.status_code == 200, granted.text
        assert "wave apac may start" in granted.json()["message"]

    world.engine.drive_all()
    assert world.state(rollout.id) == "done"
    assert world.ops.deployed["production/ap-1"] == "c" * 40
    approvals = world.store.approvals_for(rollout.id, "production/apac")
    assert [a.member for a in approvals] == ["yuki"]
    assert [a.member for a in world.store.approvals_for(rollout.id, "production")] == ["alice"]
    events = world.store.events(rollout_id=rollout.id, kinds=["fleet.wave.approved"])
    assert [(e.actor, e.details["wave"]) for e in events] == [("yuki", "apac")]
