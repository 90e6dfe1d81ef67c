"""Fixtures for notification tests: a real SQLite state store, the Slack and
GitHub stand-ins, a plain webhook receiver, and events of one rollout."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rollout.config.schema import (
    DeliverySettings,
    GitHubSettings,
    Notifications,
    SecretRef,
    SlackSettings,
    WebhookSettings,
)
from rollout.core.events import (
    ApprovalSummary,
    CommitInfo,
    DiffSummary,
    EventType,
    PlanSummary,
    RolloutEvent,
    SmokeSummary,
    Window,
)
from rollout.notify import DeliveryWorker, RetryPolicy, build_channels, build_outbox_items
from rollout.notify.outbox import channels_for
from rollout.store import OutboxItem, Store, open_store
from tests.standins import Recorded, Reply, StandIn
from tests.standins.github_api import GitHubStandIn
from tests.standins.slack_api import SlackStandIn

WEBHOOK_SECRET = "whsec-0123456789abcdef-standin"
SHA = "3f2c9a1b7d4e5f60718293a4b5c6d7e8f9012345"


class FakeClock:
    def __init__(self, start: datetime = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class WebhookReceiver(StandIn):
    """Accepts any POST to /hook with 204; failures via `fail_next`."""

    def route(self, request: Recorded) -> Reply:
        if request.method != "POST" or request.path != "/hook":
            self.violation(f"unexpected {request.method} {request.path}")
            return Reply(404, b"")
        return Reply(204, b"")

    @property
    def url(self) -> str:
        return f"{self.origin}/hook"

    def deliveries(self) -> list[Recorded]:
        return [r for r in self.requests if r.path == "/hook"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'state.db'}", clock=clock)
    yield opened
    opened.close()


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as server:
        yield server


@pytest.fixture
def github() -> Iterator[GitHubStandIn]:
    with GitHubStandIn() as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


@pytest.fixture
def notifications(
    monkeypatch: pytest.MonkeyPatch,
    slack: SlackStandIn,
    github: GitHubStandIn,
    receiver: WebhookReceiver,
) -> Notifications:
    monkeypatch.setenv("TEST_SLACK_TOKEN", slack.token)
    monkeypatch.setenv("TEST_GITHUB_TOKEN", github.token)
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", WEBHOOK_SECRET)
    return Notifications(
        slack=SlackSettings(
            bot_token=SecretRef(env="TEST_SLACK_TOKEN"), channel="#netpol", api_url=slack.api_url
        ),
        webhooks=(
            WebhookSettings(
                name="audit", url=receiver.url, secret=SecretRef(env="TEST_WEBHOOK_SECRET")
            ),
        ),
        github=GitHubSettings(
            repository=github.repo, token=SecretRef(env="TEST_GITHUB_TOKEN"), api_url=github.api_url
        ),
        delivery=DeliverySettings(
            max_attempts=3, base_delay=timedelta(seconds=2), timeout=timedelta(seconds=5)
        ),
    )


def make_worker(
    store: Store, notifications: Notifications, clock: Any, **kwargs: Any
) -> DeliveryWorker:
    return DeliveryWorker(
        store,
        build_channels(notifications),
        clock=clock,
        policy=RetryPolicy.from_settings(notifications.delivery),
        random=lambda: 0.5,
        **kwargs,
    )


def new_rollout(store: Store, environment: str = "staging") -> str:
    record = store.create_rollout(
        environment=environment,
        commit_sha=SHA,
        author="Alice Example",
        author_email="alice@example.com",
        message="Allow payments to reach the ledger\n\nTicket NET-42",
        state="detected",
    )
    return record.id


def enqueue(
    store: Store,
    event: RolloutEvent,
    notifications: Notifications,
    channels: Sequence[str] | None = None,
) -> list[str]:
    """What the engine does inside its transaction: one outbox row per channel."""
    names = list(channels) if channels is not None else channels_for(event.type, notifications)
    items = build_outbox_items(event, names)
    store.enqueue([OutboxItem(**asdict(item)) for item in items])
    return [item.idempotency_key for item in items]


def rollout_events(rollout_id: str, start: datetime) -> list[RolloutEvent]:
    """A full rollout, staging to production, as the engine would announce it."""
    commit = CommitInfo(SHA, "Alice Example", "Allow payments to reach the ledger\n\nTicket NET-42")
    diff = DiffSummary(
        opened=3,
        closed=1,
        riskiest=(
            "+ payments/api -> ledger/db TCP 5432",
            "+ payments/api -> 0.0.0.0/0 TCP 443",
            "- legacy/cron -> ledger/db TCP 5432",
        ),
    )
    plan = PlanSummary(
        apply=("ledger/allow-payments", "payments/egress-ledger"), prune=("legacy/cron-db",)
    )
    smoke = SmokeSummary(passed=12, failed=0)
    window = Window(
        datetime(2026, 3, 3, 14, 0, tzinfo=UTC), datetime(2026, 3, 3, 16, 0, tzinfo=UTC)
    )
    url = f"https://rollout.example.com/rollouts/{rollout_id}"

    def at(minutes: int) -> datetime:
        return start + timedelta(minutes=minutes)

    def ev(type_: EventType, minutes: int, env: str = "staging", **kw: Any) -> RolloutEvent:
        return RolloutEvent(
            type=type_,
            occurred_at=at(minutes),
            rollout_id=rollout_id,
            environment=env,
            commit=commit,
            url=url,
            **kw,
        )

    pending = ApprovalSummary(required=2, approved_by=(), still_needed=("2 more from group sre",))
    one = ApprovalSummary(required=2, approved_by=("bob",), still_needed=("1 more from group sre",))
    done = ApprovalSummary(required=2, approved_by=("bob", "chen"))
    return [
        ev(EventType.ROLLOUT_DETECTED, 0),
        ev(EventType.ROLLOUT_VALIDATED, 1, diff=diff, plan=plan),
        ev(EventType.STAGING_APPLIED, 2, diff=diff, plan=plan),
        ev(EventType.SMOKE_PASSED, 4, diff=diff, plan=plan, smoke=smoke),
        ev(
            EventType.APPROVAL_REQUESTED,
            5,
            "production",
            diff=diff,
            plan=plan,
            smoke=smoke,
            approvals=pending,
            next_window=window,
        ),
        ev(
            EventType.APPROVAL_GRANTED,
            30,
            "production",
            diff=diff,
            plan=plan,
            smoke=smoke,
            approvals=one,
            next_window=window,
            actor="bob",
            sequence="bob",
        ),
        ev(
            EventType.APPROVAL_GRANTED,
            45,
            "production",
            diff=diff,
            plan=plan,
            smoke=smoke,
            approvals=done,
            next_window=window,
            actor="chen",
            sequence="chen",
        ),
        ev(
            EventType.PRODUCTION_SCHEDULED,
            46,
            "production",
            diff=diff,
            plan=plan,
            smoke=smoke,
            approvals=done,
            next_window=window,
        ),
        ev(
            EventType.PRODUCTION_APPLIED,
            60 * 29,
            "production",
            diff=diff,
            plan=plan,
            smoke=smoke,
            approvals=done,
        ),
    ]
