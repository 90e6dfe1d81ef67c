"""A full rollout reaches every channel once per stage: one Slack message
updated in place with each stage in its thread, signed webhooks in order, a
commit status per environment and one PR comment edited in place."""

from __future__ import annotations

import re

import pytest
from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement

from rollout.store import Store
from tests.integration.notify.conftest import (
    SHA,
    FakeClock,
    WebhookReceiver,
    enqueue,
    make_worker,
    new_rollout,
    rollout_events,
)
from tests.standins.github_api import GitHubStandIn
from tests.standins.slack_api import SlackStandIn

pytestmark = pytest.mark.integration


def _buttons(blocks: list[dict[str, object]]) -> list[ButtonElement]:
    parsed = [Block.parse(b) for b in blocks]
    return [
        e
        for b in parsed
        if isinstance(b, ActionsBlock)
        for e in b.elements
        if isinstance(e, ButtonElement)
    ]


def test_every_stage_reaches_every_channel_once_with_one_slack_message(
    store: Store,
    clock: FakeClock,
    notifications: object,
    slack: SlackStandIn,
    github: GitHubStandIn,
    receiver: WebhookReceiver,
) -> None:
    rollout_id = new_rollout(store)
    github.add_pull(SHA, 17)
    github.add_comment(17, "LGTM, but check the egress rule")
    events = rollout_events(rollout_id, clock.now)
    worker = make_worker(store, notifications, clock)  # type: ignore[arg-type]

    for event in events:
        enqueue(store, event, notifications)  # type: ignore[arg-type]
        results = worker.run_once()
        assert {r.outcome for r in results} == {"delivered"}, results

    assert slack.violations == [] and github.violations == [] and receiver.violations == []

    # Slack: one parent, updated in place once per later stage, a thread reply each.
    parents = slack.parents()
    assert len(parents) == 1
    parent = parents[0]
    assert len(slack.calls("chat.update")) == len(events) - 1
    assert len(parent.history) == len(events) - 1
    replies = slack.replies(parent.ts)
    assert len(replies) == len(events) - 1
    assert "Approval granted by chen" in replies[5].text
    assert all(r.header("Authorization") == f"Bearer {slack.token}" for r in slack.requests)

    # Approve/Reject while approval is pending, gone once approved and applied.
    requested = parent.history[4]  # state after approval.requested
    assert [(b.action_id, b.value) for b in _buttons(requested)] == [
        ("rollout_approve", rollout_id),
        ("rollout_reject", rollout_id),
    ]
    assert _buttons(parent.history[5])  # one of two approvals so far
    assert _buttons(parent.blocks) == []
    text = str(requested)
    assert "payments/api -> ledger/db TCP 5432" in text
    assert "12 passed, 0 failed" in text
    assert "Still needed: 2 more from group sre" in text
    # The window in each reader's own time, with a UTC fallback.
    assert re.search(
        r"<!date\^1772546400\^\{date_short_pretty\} \{time\}\|2026-03-03 14:00 UTC>", text
    )
    assert "Applied to production" in str(parent.blocks)

    # Webhook: one signed delivery per event, in order, no duplicates.
    hooks = receiver.deliveries()
    assert [r.header("X-Netpol-Rollout-Event") for r in hooks] == [str(e.type) for e in events]
    keys = [r.header("X-Netpol-Rollout-Delivery") for r in hooks]
    assert len(set(keys)) == len(events)

    # GitHub: a status per stage under the environment's context, one comment edited.
    contexts = [(body["context"], body["state"]) for sha, body in github.statuses if sha == SHA]
    assert contexts[0] == ("netpol-rollout/staging", "pending")
    assert ("netpol-rollout/staging", "success") in contexts
    assert contexts[-1] == ("netpol-rollout/production", "success")
    ours = [c for c in github.comments_on(17) if "<!-- netpol-rollout:plan -->" in c.body]
    assert len(ours) == 1 and len(github.comments_on(17)) == 2
    assert ours[0].edits == len(events) - 1
    assert "Applied to production" in ours[0].body
    assert "+ payments/api -> 0.0.0.0/0 TCP 443" in ours[0].body
    assert len(github.calls("POST", r"/issues/17/comments$")) == 1

    assert {r.status for r in store.outbox_items()} == {"delivered"}
