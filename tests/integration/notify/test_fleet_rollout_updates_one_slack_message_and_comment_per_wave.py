"""A fleet rollout, announced as the service announces it (store rows -> announcer
-> outbox -> worker): one Slack message, `chat.update`d on its stored ts after
every wave with the clusters' revisions and the next wave's window, a thread
line per wave; one PR comment edited in place with a row per cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from rollout.announce import announcer
from rollout.config.loader import load_config
from rollout.config.schema import Notifications, Settings
from rollout.core.waves import ClusterState, cluster_predecessors
from rollout.store import OutboxItem, Store
from rollout.store.fleets import PlannedCluster
from tests.integration.fleet_view.conftest import FLEET_CONFIG
from tests.integration.notify.conftest import SHA, FakeClock, make_worker
from tests.standins.github_api import GitHubStandIn
from tests.standins.slack_api import Message, SlackStandIn

pytestmark = pytest.mark.integration

OLD = "9c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5"
S = ClusterState


def _settings(tmp_path: Path, notifications: Notifications) -> Settings:
    path = tmp_path / "rollout.yaml"
    path.write_text(yaml.safe_dump(FLEET_CONFIG))
    return load_config(path).model_copy(update={"notifications": notifications})


def _fleet_section(blocks: list[dict[str, Any]]) -> str:
    (text,) = [
        b["text"]["text"]
        for b in blocks
        if b["type"] == "section" and b["text"]["text"].startswith("*Clusters of production*")
    ]
    return str(text)


def test_one_slack_message_and_one_comment_follow_every_wave(
    tmp_path: Path,
    store: Store,
    clock: FakeClock,
    notifications: Notifications,
    slack: SlackStandIn,
    github: GitHubStandIn,
) -> None:
    settings = _settings(tmp_path, notifications)
    rollout = store.create_rollout(
        environment="production",
        commit_sha=SHA,
        author="Alice Example",
        author_email="alice@example.com",
        message="Allow payments to reach the ledger",
        state="scheduled",
    )
    plan = settings.environment("production").wave_plan()
    store.start_fleet(
        rollout.id,
        "production",
        SHA,
        [
            PlannedCluster(c, w.name, w.index, i, OLD)
            for w in plan.waves
            for i, c in enumerate(w.clusters)
        ],
    )
    github.add_pull(SHA, 17)
    announce = announcer(settings, clock, fleet_rows=store.fleet_clusters)
    worker = make_worker(store, notifications, clock)

    def step(event: str, **details: str) -> None:
        record = store.get_rollout(rollout.id)
        assert record is not None
        items = announce(record, event, details)
        store.enqueue(
            [
                OutboxItem(i.channel, i.event, i.idempotency_key, i.payload, i.rollout_id)
                for i in items
            ]
        )
        assert {r.outcome for r in worker.run_once()} == {"delivered"}

    def verify(*clusters: str) -> None:
        for cluster in clusters:
            for state in (S.APPLYING, S.APPLIED, S.VERIFIED):
                preds = [str(s) for s in cluster_predecessors(state)]
                assert store.move_fleet_cluster(rollout.id, "production", cluster, preds, state)

    step("production.scheduled", at=clock().isoformat())
    verify("eu-1")
    step("wave.passed", wave="canary")
    verify("eu-2")
    step("wave.passed", wave="europe")
    clock.advance(hours=5)  # 14:00 UTC: americas' own window opens
    verify("us-1", "us-2")
    step("wave.passed", wave="americas")
    step("production.applied")

    assert slack.violations == [] and github.violations == []
    (parent,) = slack.parents()
    assert len(slack.calls("chat.postMessage")) == 1 + 4  # the parent, then a reply per update
    updates = slack.calls("chat.update")
    assert len(updates) == 4
    assert {(u.json or {})["ts"] for u in updates} == {parent.ts}  # the stored ts, every time
    states = [*parent.history, parent.blocks]
    old, new = f"`{OLD[:8]}`", f"`{SHA[:8]}`"
    assert _fleet_section(states[0]) == (
        "*Clusters of production*\n"
        "wave 1/3 canary next: 0/1 cluster(s) verified\n"
        f"• canary (next): eu-1 {old}\n"
        f"• europe (pending): eu-2 {old}\n"
        f"• americas (pending): us-1, us-2 {old}\n"
        "Next wave canary"  # production has no window rule: any time
    )
    assert _fleet_section(states[2]) == (
        "*Clusters of production*\n"
        "wave 3/3 americas soaking: 0/2 cluster(s) verified\n"
        f"• canary (done): eu-1 {new}\n"
        f"• europe (done): eu-2 {new}\n"
        f"• americas (soaking): us-1, us-2 {old}\n"
        "Next wave americas after its soak: "
        "<!date^1772443800^{date_short_pretty} {time}|2026-03-02 09:30 UTC>"
    )
    assert _fleet_section(states[-1]) == (
        "*Clusters of production*\n"
        "all 3 wave(s) done: 4 cluster(s) verified\n"
        f"• canary (done): eu-1 {new}\n"
        f"• europe (done): eu-2 {new}\n"
        f"• americas (done): us-1, us-2 {new}"
    )
    replies: list[Message] = slack.replies(parent.ts)
    assert [r.text for r in replies] == [
        ":ocean: Wave canary passed (production)\nwave 2/3 europe next: 0/1 cluster(s) verified",
        ":ocean: Wave europe passed (production)\n"
        "wave 3/3 americas soaking: 0/2 cluster(s) verified",
        ":ocean: Wave americas passed (production)\nall 3 wave(s) done: 4 cluster(s) verified",
        ":tada: Applied to production (production)\nall 3 wave(s) done: 4 cluster(s) verified",
    ]

    (comment,) = [c for c in github.comments_on(17) if "netpol-rollout:plan" in c.body]
    assert comment.edits == 4
    table = comment.body.split("#### Clusters of production\n\n")[1]
    assert table.splitlines()[:8] == [
        "all 3 wave(s) done: 4 cluster(s) verified",
        "",
        "| Wave | Phase | Cluster | State | Revision |",
        "|---|---|---|---|---|",
        f"| canary | done | eu-1 | verified | {new} |",
        f"| europe | done | eu-2 | verified | {new} |",
        f"| americas | done | us-1 | verified | {new} |",
        f"| americas | done | us-2 | verified | {new} |",
    ]
