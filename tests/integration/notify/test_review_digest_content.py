"""The monthly review digest reaches Slack (Block Kit) and webhooks (JSON)
with every section: baselines, lint by severity, policies selecting nothing,
connectivity opened/closed, rollouts/rollbacks and drift."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from rollout.config.schema import Notifications
from rollout.core.events import DriftItem, ReviewDigest
from rollout.findings import LintFinding
from rollout.notify import digest_event
from rollout.notify.digest import digest_markdown
from rollout.notify.outbox import channels_for
from rollout.store import Store
from tests.integration.notify.conftest import FakeClock, WebhookReceiver, enqueue, make_worker
from tests.standins.github_api import GitHubStandIn
from tests.standins.slack_api import SlackStandIn

pytestmark = pytest.mark.integration

DIGEST = ReviewDigest(
    period_start=datetime(2026, 2, 1, tzinfo=UTC),
    period_end=datetime(2026, 3, 1, tzinfo=UTC),
    namespaces_without_baseline=("reporting", "sandbox"),
    lint_findings=(
        LintFinding("NetworkPolicy/payments/egress-all", "NP009", "warning", "egress to 0.0.0.0/0"),
        LintFinding(
            "NetworkPolicy/web/allow", "NP007", "warning", "named port 'http' matches no container"
        ),
        LintFinding("NetworkPolicy/batch/deny", "NP003", "error", "no DNS egress"),
    ),
    policies_selecting_nothing=("legacy/allow-old-cron",),
    connectivity_opened=("payments/api -> ledger/db TCP 5432",),
    connectivity_closed=("legacy/cron -> ledger/db TCP 5432", "sandbox/* -> 0.0.0.0/0 TCP 80"),
    rollouts=7,
    rollbacks=1,
    drift=(
        DriftItem(
            "production",
            "payments/allow-ledger",
            "edited in cluster",
            datetime(2026, 2, 14, tzinfo=UTC),
        ),
    ),
)


def test_digest_reaches_slack_and_webhooks_with_every_section(
    store: Store,
    clock: FakeClock,
    notifications: Notifications,
    slack: SlackStandIn,
    github: GitHubStandIn,
    receiver: WebhookReceiver,
) -> None:
    event = digest_event(DIGEST, occurred_at=clock.now)
    assert channels_for(event.type, notifications) == ["slack", "webhook:audit"]
    keys = enqueue(store, event, notifications)
    assert keys[0].startswith("global:review.digest:slack:20260201")
    results = make_worker(store, notifications, clock).run_once()
    assert [r.outcome for r in results] == ["delivered", "delivered"]

    [message] = slack.parents()
    text = json.dumps(message.blocks)
    assert "NetworkPolicy review 2026-02" in text
    for expected in (
        "reporting",
        "sandbox",
        "1 error, 2 warning",
        "legacy/allow-old-cron",
        "Connectivity opened (1)",
        "Connectivity closed (2)",
        "7 rollout(s), 1 rollback(s)",
        "production: payments/allow-ledger edited in cluster",
    ):
        assert expected in text, expected
    assert slack.violations == []

    [request] = receiver.deliveries()
    body = json.loads(request.body)
    assert body["type"] == "review.digest" and body["rollout"] is None
    digest = body["digest"]
    assert digest["period"] == {"start": "2026-02-01T00:00:00Z", "end": "2026-03-01T00:00:00Z"}
    assert digest["namespaces_without_baseline"] == ["reporting", "sandbox"]
    assert digest["lint"]["by_severity"] == {"error": 1, "warning": 2}
    assert digest["connectivity"]["closed"] == list(DIGEST.connectivity_closed)
    assert digest["rollouts"] == 7 and digest["rollbacks"] == 1
    assert digest["drift"][0]["object"] == "payments/allow-ledger"
    assert github.requests == []

    # Delivered once: the same digest enqueued again is a no-op.
    enqueue(store, event, notifications)
    assert make_worker(store, notifications, clock).run_once() == []


def test_digest_markdown_has_every_section() -> None:
    markdown = digest_markdown(DIGEST)
    assert markdown.startswith("## NetworkPolicy review 2026-02\n")
    assert "### Namespaces without a deny-all baseline\n\n- `reporting`\n- `sandbox`" in markdown
    assert "### Lint findings by severity\n\n1 error, 2 warning" in markdown
