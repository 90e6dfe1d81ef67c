"""Notifications: the outbox, its delivery worker, and the channels.

outbox.py    pure: channels for an event, outbox rows, retry/backoff plan
worker.py    DeliveryWorker, the OutboxStore and Channel protocols
slack.py     Slack bot (one message updated in place) or incoming webhook
webhook.py   generic JSON webhooks signed with HMAC-SHA256
github.py    commit statuses and one PR comment edited in place
digest.py    the monthly review digest event and its rendering
render.py    shared wording; redact.py: secret scrubbing
"""

from __future__ import annotations

from rollout.notify.channels import build_channels
from rollout.notify.digest import digest_event
from rollout.notify.outbox import (
    OutboxItem,
    RetryPolicy,
    build_outbox_items,
    channels_for,
    idempotency_key,
)
from rollout.notify.redact import redact
from rollout.notify.worker import (
    Channel,
    Delivery,
    DeliveryError,
    DeliveryResult,
    DeliveryWorker,
    OutboxStore,
)

__all__ = [
    "Channel",
    "Delivery",
    "DeliveryError",
    "DeliveryResult",
    "DeliveryWorker",
    "OutboxItem",
    "OutboxStore",
    "RetryPolicy",
    "build_channels",
    "build_outbox_items",
    "channels_for",
    "digest_event",
    "idempotency_key",
    "redact",
]
