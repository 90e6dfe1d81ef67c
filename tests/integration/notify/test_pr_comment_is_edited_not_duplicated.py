"""One plan comment per pull request: found by its marker (even from an earlier
rollout, across pages of comments) and edited, never posted twice; a commit
without a pull request gets statuses only."""

from __future__ import annotations

import pytest

from rollout.config.schema import Notifications
from rollout.store import Store
from tests.integration.notify.conftest import (
    SHA,
    FakeClock,
    enqueue,
    make_worker,
    new_rollout,
    rollout_events,
)
from tests.standins.github_api import GitHubStandIn

pytestmark = pytest.mark.integration

MARKER = "<!-- netpol-rollout:plan -->"


def test_existing_marked_comment_is_found_and_edited(
    store: Store, clock: FakeClock, notifications: Notifications, github: GitHubStandIn
) -> None:
    github.add_pull(SHA, 23)
    for n in range(3):
        github.add_comment(23, f"review remark {n}")
    earlier = github.add_comment(23, f"{MARKER}\nplan of an earlier commit")
    github.add_comment(23, "another remark")
    rollout_id = new_rollout(store)  # a new rollout: no stored comment id yet
    events = rollout_events(rollout_id, clock.now)[:3]
    worker = make_worker(store, notifications, clock)
    for event in events:
        enqueue(store, event, notifications, ["github"])
        assert [r.outcome for r in worker.run_once()] == ["delivered"]

    assert github.violations == []
    assert github.calls("POST", r"/issues/23/comments$") == []
    assert github.comments[earlier].edits == 3
    assert "Applied to staging (staging)" in github.comments[earlier].body
    assert "- apply `ledger/allow-payments`" in github.comments[earlier].body
    assert "- prune `legacy/cron-db`" in github.comments[earlier].body
    assert len(github.comments_on(23)) == 5
    # The marker is searched once (with pagination); then the stored id is edited directly.
    assert len(github.calls("GET", r"/commits/.*/pulls$")) == 1
    assert [i.external_ref for i in store.outbox_items()] == [str(earlier)] * 3


def test_stale_comment_id_falls_back_to_a_new_comment_once(
    store: Store, clock: FakeClock, notifications: Notifications, github: GitHubStandIn
) -> None:
    github.add_pull(SHA, 5)
    rollout_id = new_rollout(store)
    first, second, third = rollout_events(rollout_id, clock.now)[:3]
    worker = make_worker(store, notifications, clock)
    enqueue(store, first, notifications, ["github"])
    worker.run_once()
    [created] = github.comments_on(5)
    del github.comments[created.id]  # someone deleted our comment
    enqueue(store, second, notifications, ["github"])
    enqueue(store, third, notifications, ["github"])
    worker.run_once()

    mine = [c for c in github.comments_on(5) if MARKER in c.body]
    assert len(mine) == 1
    assert "Applied to staging" in mine[0].body
    assert github.violations == []


def test_commit_without_pull_request_gets_statuses_only(
    store: Store, clock: FakeClock, notifications: Notifications, github: GitHubStandIn
) -> None:
    rollout_id = new_rollout(store)
    [detected] = rollout_events(rollout_id, clock.now)[:1]
    enqueue(store, detected, notifications, ["github"])
    assert [r.outcome for r in make_worker(store, notifications, clock).run_once()] == ["delivered"]
    assert github.statuses == [
        (
            SHA,
            {
                "state": "pending",
                "description": "New commit detected (staging)",
                "context": "netpol-rollout/staging",
                "target_url": f"https://rollout.example.com/rollouts/{rollout_id}",
            },
        )
    ]
    assert github.comments == {}
