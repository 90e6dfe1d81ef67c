"""After max_attempts failures a delivery is dead: visible in the store with
a last error that, like the logs, carries no token, signing key or secret URL."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from rollout.config.schema import (
    DeliverySettings,
    Notifications,
    SecretRef,
    SlackSettings,
    WebhookSettings,
)
from rollout.store import Store
from tests.integration.notify.conftest import (
    WEBHOOK_SECRET,
    FakeClock,
    WebhookReceiver,
    enqueue,
    make_worker,
    new_rollout,
    rollout_events,
)
from tests.standins.slack_api import SlackStandIn

pytestmark = pytest.mark.integration


def test_a_webhook_failing_every_time_is_dead_after_max_attempts(
    store: Store,
    clock: FakeClock,
    notifications: Notifications,
    receiver: WebhookReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    rollout_id = new_rollout(store)
    [detected] = rollout_events(rollout_id, clock.now)[:1]
    enqueue(store, detected, notifications, ["webhook:audit", "slack"])
    receiver.fail_next("POST", "/hook", 500, times=10)
    worker = make_worker(store, notifications, clock)

    outcomes = []
    for _ in range(5):
        outcomes += sorted((r.channel, r.outcome) for r in worker.run_once())
        clock.advance(minutes=10)

    assert outcomes == [
        ("slack", "delivered"),
        ("webhook:audit", "retry"),
        ("webhook:audit", "retry"),
        ("webhook:audit", "dead"),
    ]
    [dead] = store.outbox_items("dead")
    assert dead.channel == "webhook:audit" and dead.attempts == 3
    assert dead.last_error == "webhook audit answered HTTP 500"
    assert len(receiver.deliveries()) == 3
    assert worker.stats()["webhook:audit"] == {"retry": 2, "dead": 1}
    assert WEBHOOK_SECRET not in caplog.text


def test_secrets_never_reach_errors_or_logs(
    monkeypatch: pytest.MonkeyPatch,
    store: Store,
    clock: FakeClock,
    slack: SlackStandIn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    hook_secret = "hookpathsecret-9f8e7d6c5b4a"
    monkeypatch.setenv("TEST_SLACK_HOOK", f"http://127.0.0.1:9/services/T1/B2/{hook_secret}")
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", WEBHOOK_SECRET)
    bad_token = "xoxb-9999-8888-wrongtoken"
    monkeypatch.setenv("TEST_BAD_TOKEN", bad_token)
    unreachable = Notifications(
        slack=SlackSettings(webhook_url=SecretRef(env="TEST_SLACK_HOOK")),
        webhooks=(
            WebhookSettings(
                name="siem",
                url=f"http://user:{hook_secret}@127.0.0.1:9/ingest?token={hook_secret}",
                secret=SecretRef(env="TEST_WEBHOOK_SECRET"),
            ),
        ),
        delivery=DeliverySettings(max_attempts=1, timeout=timedelta(seconds=2)),
    )
    wrong_token = Notifications(
        slack=SlackSettings(
            bot_token=SecretRef(env="TEST_BAD_TOKEN"), channel="#netpol", api_url=slack.api_url
        ),
        delivery=DeliverySettings(max_attempts=1),
    )
    rollout_id = new_rollout(store)
    [detected] = rollout_events(rollout_id, clock.now)[:1]
    enqueue(store, detected, unreachable, ["slack", "webhook:siem"])
    results = make_worker(store, unreachable, clock).run_once()
    second = detected.__class__(**{**detected.__dict__, "sequence": "again"})
    enqueue(store, second, wrong_token, ["slack"])
    results += make_worker(store, wrong_token, clock).run_once()

    assert [r.outcome for r in results] == ["dead", "dead", "dead"]
    errors = " ".join(item.last_error or "" for item in store.outbox_items("dead"))
    assert "invalid_auth" in errors
    for secret in (hook_secret, bad_token, WEBHOOK_SECRET):
        assert secret not in errors
        assert secret not in caplog.text
    events = " ".join(str(e.details) for e in store.events(rollout_id=rollout_id))
    assert hook_secret not in events and bad_token not in events
