from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from rollout.config.schema import Notifications, SecretRef, SlackSettings, WebhookSettings
from rollout.core.events import (
    SCHEMA_VERSION,
    ApprovalSummary,
    CommitInfo,
    DiffSummary,
    DriftItem,
    EventType,
    RolloutEvent,
    Window,
    event_from_json,
    event_to_json,
)
from rollout.notify.outbox import build_outbox_items, channels_for

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EVENT = RolloutEvent(
    type=EventType.APPROVAL_GRANTED,
    occurred_at=AT,
    rollout_id="r-0123456789",
    environment="production",
    commit=CommitInfo("a" * 40, "alice", "msg"),
    diff=DiffSummary(1, 2, ("+ a -> b TCP 80",)),
    approvals=ApprovalSummary(2, ("bob",), ("1 more",)),
    next_window=Window(AT, AT.replace(hour=11)),
    actor="bob",
    sequence="bob",
)


def test_exactly_the_fifteen_documented_event_names() -> None:
    assert len(EventType) == 15
    assert {e.value for e in EventType} >= {"rollout.detected", "review.digest", "drift.detected"}


def test_json_round_trip() -> None:
    assert event_from_json(event_to_json(EVENT)) == EVENT
    drift = RolloutEvent(
        type=EventType.DRIFT_DETECTED,
        occurred_at=AT,
        environment="production",
        sequence="2026-03-02T09:00Z",
        drift=(DriftItem("production", "ns/p", "deleted", AT),),
    )
    assert event_from_json(event_to_json(drift)) == drift
    assert event_to_json(EVENT)["schema_version"] == SCHEMA_VERSION
    fleet = replace(EVENT, diff=DiffSummary(1, 0, (), None, "analysed on 4 cluster(s)"))
    assert event_from_json(event_to_json(fleet)) == fleet
    assert "fleet" not in event_to_json(EVENT)["diff"]  # one cluster: the key is absent


def test_unknown_version_is_refused() -> None:
    with pytest.raises(ValueError, match="schema_version"):
        event_from_json({**event_to_json(EVENT), "schema_version": 2})


def test_items_per_channel_with_idempotency_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Notifications(
        slack=SlackSettings(webhook_url=SecretRef(env="X")),
        webhooks=(
            WebhookSettings(name="all", url="https://h.example/a", secret=SecretRef(env="Y")),
            WebhookSettings(
                name="prod-only",
                url="https://h.example/b",
                secret=SecretRef(env="Y"),
                events=("production.applied",),
            ),
        ),
    )
    channels = channels_for(EVENT.type, settings)
    assert channels == ["slack", "webhook:all"]
    assert channels_for(EVENT.type, settings, notify=["all"]) == ["webhook:all"]
    keys = [i.idempotency_key for i in build_outbox_items(EVENT, channels)]
    assert keys == [
        "r-0123456789:production:approval.granted:slack:bob",
        "r-0123456789:production:approval.granted:webhook:all:bob",
    ]
    plain = replace(EVENT, sequence=None)
    assert build_outbox_items(plain, ["slack"])[0].idempotency_key == (
        "r-0123456789:production:approval.granted:slack"
    )


def test_each_gated_environment_gets_its_own_delivery() -> None:
    """A second gated environment's `approval.granted` is not taken for a repeat."""
    second = replace(EVENT, environment="production-eu", sequence=None)
    first = replace(EVENT, sequence=None)
    keys = {build_outbox_items(e, ["slack"])[0].idempotency_key for e in (first, second)}
    assert keys == {
        "r-0123456789:production:approval.granted:slack",
        "r-0123456789:production-eu:approval.granted:slack",
    }


def test_event_without_rollout_is_keyed_by_its_subject() -> None:
    drift = RolloutEvent(
        type=EventType.DRIFT_DETECTED, occurred_at=AT, environment="production", sequence="s1"
    )
    assert build_outbox_items(drift, ["slack"])[0].idempotency_key == (
        "production:drift.detected:slack:s1"
    )
