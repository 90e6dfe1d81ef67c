"""End to end with every integration live: smoke tests on fake nodes for both
clusters, Slack in bot mode and GitHub on local stand-ins, the approval as a
signed Slack button click. A good commit reaches production with one Slack
message updated in place, its thread, commit statuses and one PR comment; a
commit that breaks a required flow is stopped in staging and rolled back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from rollout.config.schema import Settings
from rollout.notify.slack import APPROVE_ACTION
from rollout.server.slack_routes import APPROVE_ACTION_ID
from rollout.store.records import RolloutRecord
from rollout.wiring import announcer
from tests.e2e.conftest import Deployment, policy
from tests.e2e.support.notifying import (
    SIGNING_SECRET,
    StandIns,
    all_delivered,
    stand_ins,
    wire_notifications,
)
from tests.e2e.support.slack_click import buttons, click
from tests.e2e.support.world import (
    DEFAULT_DENY,
    SMOKE_SPEC,
    commit,
    configure,
    environment,
    fake_nodes,
    ingress_ports,
    push,
    sqlite_url,
    state_store,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

ALICE_SLACK = "U0ALICE01"
PULL = 7


@pytest.fixture
def standins(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIns]:
    with stand_ins() as running:
        wire_notifications(deployment, running, monkeypatch)
        yield running


@pytest.fixture
def wired(deployment: Deployment, standins: StandIns) -> Deployment:
    def change(config: dict[str, Any]) -> None:
        config["team"] = {
            "members": [
                {"name": "alice", "timezone": "UTC", "slack_id": ALICE_SLACK},
                {"name": "bob", "timezone": "UTC", "email": "bob@example.com"},
            ]
        }
        smoke = {"enabled": True, "timeout": "2s", "start_timeout": "30s", "parallelism": 2}
        environment(config, "staging")["smoke"] = smoke
        production = environment(config, "production")
        production["smoke"] = smoke
        # bob authors every commit: only alice may approve
        production["approvals"] = {"required": 1, "members": ["alice", "bob"]}
        production["windows"] = {
            "explicit": [{"kind": "allow", "schedule": "* * * * *", "duration": "2h"}]
        }

    configure(deployment, change)
    return deployment


def _both(name: str, text: str) -> dict[str, str]:
    return {f"policies/staging/{name}.yaml": text, f"policies/production/{name}.yaml": text}


def _all_delivered(deployment: Deployment, rollout_id: str) -> bool:
    with state_store(sqlite_url(deployment)) as store:
        return all_delivered(store, rollout_id)


def test_commit_reaches_production_through_smoke_slack_and_a_window_bad_one_rolls_back(
    wired: Deployment, standins: StandIns
) -> None:
    deployment, slack, github = wired, standins.slack, standins.github
    with fake_nodes(deployment.staging, deployment.production) as nodes:
        deployment.start()
        good = commit(
            deployment,
            {**_both("default-deny", DEFAULT_DENY), "policies/smoke-tests.yaml": SMOKE_SPEC},
            "default-deny with web open on 8080",
        )
        github.add_pull(good, PULL)
        push(deployment)

        rollout = deployment.wait_state(good, "awaiting_approval", timeout=90)
        assert ingress_ports(deployment.staging) == {"default-deny": [], "web": [8080]}
        assert ingress_ports(deployment.production) == {}  # nothing before the approval
        assert nodes[0].probes_run, "staging smoke tests ran no probe pod"

        stranger = click(
            deployment.url,
            SIGNING_SECRET,
            user_id="U0STRANGER",
            action_id=APPROVE_ACTION_ID,
            value=rollout["id"],
            response_url=slack.webhook_url,
        )
        assert stranger.status_code == 200 and "not on the" in stranger.json()["text"]
        assert (deployment.rollout_for(good) or {}).get("state") == "awaiting_approval"
        # Alice clicks the Approve button that the Slack message really carries.
        button = approve_button(slack)
        assert button["value"] == rollout["id"]
        answer = click(
            deployment.url,
            SIGNING_SECRET,
            user_id=ALICE_SLACK,
            action_id=button["action_id"],
            value=button["value"],
            response_url=slack.webhook_url,
        )
        assert answer.status_code == 200, answer.text

        deployment.wait_state(good, "done", timeout=90)
        assert ingress_ports(deployment.production) == {"default-deny": [], "web": [8080]}
        assert nodes[1].probes_run, "production smoke tests ran no probe pod"
        deployment.wait_for(
            lambda: _all_delivered(deployment, rollout["id"]), "every notification", 30
        )

        with state_store(sqlite_url(deployment)) as store:
            items = store.outbox_items(rollout_id=rollout["id"])
            approvals = store.events(rollout_id=rollout["id"], kinds=["approval.granted"])
        slack_events = [i.event for i in items if i.channel == "slack"]
        for earlier, later in zip(
            (
                "rollout.detected",
                "staging.applied",
                "smoke.passed",
                "approval.requested",
                "approval.granted",
            ),
            (
                "staging.applied",
                "smoke.passed",
                "approval.requested",
                "approval.granted",
                "production.applied",
            ),
            strict=True,
        ):
            assert slack_events.index(earlier) < slack_events.index(later), slack_events
        assert [(a.actor, a.channel) for a in approvals] == [("alice", "slack")]

        parents = slack.parents()
        assert len(parents) == 1, [p.text for p in parents]
        parent = parents[0]
        assert len(parent.history) == len(slack_events) - 1  # every later event updated it
        assert len(slack.replies(parent.ts)) == len(slack_events) - 1  # and added a line
        assert buttons(parent.blocks) == []  # no buttons once approved
        assert len(slack.calls("chat.postMessage")) == len(slack_events)

        statuses = [
            (body["context"], body["state"]) for sha, body in github.statuses if sha == good
        ]
        staging = [s for c, s in statuses if c == "netpol-rollout/staging"]
        production = [s for c, s in statuses if c == "netpol-rollout/production"]
        assert staging and staging[-1] == "success", statuses
        assert production and production[-1] == "success", statuses
        comments = github.comments_on(PULL)
        assert len(comments) == 1 and "<!-- netpol-rollout:plan -->" in comments[0].body

        # A commit that closes the required flow: smoke fails, staging rolls back.
        bad = deployment.remote.push(_both("web", policy("web", 8081)), "move web to 8081")
        failed = deployment.wait_state(bad, "staging_failed", timeout=90)
        assert failed["reason"]
        assert ingress_ports(deployment.staging) == {"default-deny": [], "web": [8080]}
        assert ingress_ports(deployment.production) == {"default-deny": [], "web": [8080]}
        deployment.wait_for(lambda: _all_delivered(deployment, failed["id"]), "bad's notices", 30)
        with state_store(sqlite_url(deployment)) as store:
            assert [d.commit_sha for d in store.deployments("production")] == [good]
            bad_events = [i.event for i in store.outbox_items(rollout_id=failed["id"])]
            record = store.get_rollout(failed["id"])
        assert record is not None
        verdicts = {
            r["name"]: r["observed"] for r in record.smoke["staging"]["report"]["results"]
        }  # the fake node's probe, not only the static pre-check, saw the flow closed
        assert verdicts["client-to-web"] == "blocked", verdicts
        assert "smoke.failed" in bad_events or "staging.rolled_back" in bad_events, bad_events
        bad_statuses = [body for sha, body in github.statuses if sha == bad]
        assert bad_statuses and bad_statuses[-1]["state"] == "failure", bad_statuses
        assert len(slack.parents()) == 2
        assert deployment.terminate() == 0

    standins.assert_clean()


def test_the_rendered_approve_button_is_the_one_the_server_handles() -> None:
    assert APPROVE_ACTION == APPROVE_ACTION_ID


def test_an_approval_request_carries_the_approvals_so_slack_draws_the_buttons() -> None:
    settings = Settings.model_validate(
        {
            "repository": {"path": "/tmp/policies"},
            "team": {"members": [{"name": "alice", "timezone": "UTC"}]},
            "environments": [
                {"name": "staging", "namespaces": ["apps"], "overlay": "staging"},
                {
                    "name": "production",
                    "namespaces": ["apps"],
                    "overlay": "production",
                    "approvals": {"required": 1, "members": ["alice"]},
                },
            ],
            "notifications": {"slack": {"bot_token": {"env": "UNUSED"}, "channel": "#netpol"}},
        }
    )
    now = datetime.now(UTC)
    waiting = RolloutRecord(
        "r-1",
        "production",
        "a" * 40,
        None,
        "Bob",
        "bob@example.com",
        "m",
        "awaiting_approval",
        None,
        None,
        now,
        now,
    )
    [item] = announcer(settings, lambda: now)(waiting, "approval.requested", {})
    assert item.payload["approvals"] is not None


def approve_button(slack: Any, timeout: float = 30.0) -> dict[str, Any]:
    """The Approve button of the newest Slack parent message, once it is delivered."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for parent in reversed(slack.parents()):
            for block in parent.blocks:
                for element in block.get("elements", []) if block.get("type") == "actions" else []:
                    if element.get("action_id") == APPROVE_ACTION:
                        return dict(element)
        time.sleep(0.2)
    raise AssertionError("no Slack message carries an Approve button")
