"""Pure helpers of the transactional outbox: which channels get an event, the
rows to write with the state change, and when to retry a failed delivery.

No I/O and no clock reads here: the engine calls :func:`build_outbox_items`
inside the transaction that records the stage; the worker calls
:func:`plan_retry` with its own clock and randomness.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rollout.config.schema import DeliverySettings, Notifications
from rollout.core.events import EventType, RolloutEvent, event_to_json

SLACK = "slack"
GITHUB = "github"
WEBHOOK_PREFIX = "webhook:"

# GitHub shows rollouts on commits and pull requests; drift and the digest have neither.
GITHUB_EVENTS = frozenset(EventType) - {EventType.DRIFT_DETECTED, EventType.REVIEW_DIGEST}


@dataclass(frozen=True)
class OutboxItem:
    """A notification to enqueue (same fields as the store's `OutboxItem`)."""

    channel: str
    event: str
    idempotency_key: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    rollout_id: str | None = None


def webhook_channel(name: str) -> str:
    return f"{WEBHOOK_PREFIX}{name}"


def channels_for(
    event_type: EventType,
    notifications: Notifications,
    notify: Sequence[str] | None = None,
) -> list[str]:
    """Outbox channel names for one event: configured, chosen by the environment's
    `notify` list (None = all), and subscribed (a webhook's `events`, empty = all)."""
    wanted = None if notify is None else set(notify)
    channels: list[str] = []
    if notifications.slack is not None and (wanted is None or "slack" in wanted):
        channels.append(SLACK)
    for hook in notifications.webhooks:
        if wanted is not None and hook.name not in wanted:
            continue
        if hook.events and str(event_type) not in hook.events:
            continue
        channels.append(webhook_channel(hook.name))
    if (
        notifications.github is not None
        and (wanted is None or "github" in wanted)
        and event_type in GITHUB_EVENTS
    ):
        channels.append(GITHUB)
    return channels


def idempotency_key(event: RolloutEvent, channel: str) -> str:
    """`{rollout_id}:{environment}:{event}:{channel}[:{sequence}]`, unique per delivery.

    The environment is part of it because one rollout announces the same event
    (`approval.granted`, `production.applied`, ...) once per gated environment.
    An event without a rollout is keyed by its subject (the environment, or
    `global`): `{subject}:{event}:{channel}[:{sequence}]`.
    """
    if event.rollout_id is not None:
        key = f"{event.rollout_id}:{event.environment or '-'}:{event.type}:{channel}"
    else:
        key = f"{event.subject}:{event.type}:{channel}"
    return f"{key}:{event.sequence}" if event.sequence else key


def build_outbox_items(event: RolloutEvent, channels: Sequence[str]) -> list[OutboxItem]:
    """One row per channel; the payload is the versioned event JSON."""
    payload = event_to_json(event)
    return [
        OutboxItem(
            channel=channel,
            event=str(event.type),
            idempotency_key=idempotency_key(event, channel),
            payload=payload,
            rollout_id=event.rollout_id,
        )
        for channel in channels
    ]


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay: float = 2.0
    max_delay: float = 600.0

    @classmethod
    def from_settings(cls, settings: DeliverySettings) -> RetryPolicy:
        return cls(
            max_attempts=settings.max_attempts,
            base_delay=settings.base_delay.total_seconds(),
            max_delay=settings.max_delay.total_seconds(),
        )


def backoff_delay(
    attempt: int,
    policy: RetryPolicy,
    *,
    random: Callable[[], float],
    retry_after: float | None = None,
) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based).

    Exponential with full jitter, capped at `max_delay`:
    `uniform(0, min(max_delay, base_delay * 2**(attempt-1)))`. A server's
    `Retry-After` wins: the delay is then exactly that (never less), because
    retrying earlier only earns another 429.
    """
    if retry_after is not None:
        return max(0.0, retry_after)
    ceiling = min(policy.max_delay, policy.base_delay * 2.0 ** max(0, attempt - 1))
    fraction: float = min(max(random(), 0.0), 1.0)
    return ceiling * fraction


@dataclass(frozen=True)
class RetryDecision:
    dead: bool
    next_attempt_at: datetime


def plan_retry(
    attempts: int,
    policy: RetryPolicy,
    *,
    now: datetime,
    random: Callable[[], float],
    retry_after: float | None = None,
    permanent: bool = False,
) -> RetryDecision:
    """After `attempts` failed attempts (including this one): dead-letter or retry when."""
    if permanent or attempts >= policy.max_attempts:
        return RetryDecision(dead=True, next_attempt_at=now)
    delay = backoff_delay(attempts, policy, random=random, retry_after=retry_after)
    return RetryDecision(dead=False, next_attempt_at=now + timedelta(seconds=delay))
