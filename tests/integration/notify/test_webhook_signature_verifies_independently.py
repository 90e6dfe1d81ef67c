"""The webhook signature verifies with a receiver written from the docs alone
(docs/notifications.md, "Verifying a delivery"), not with our signer."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from rollout.config.schema import Notifications
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
from tests.standins import Recorded

pytestmark = pytest.mark.integration


def verify(
    secret: str, headers: dict[str, str], body: bytes, now: float, tolerance: int = 300
) -> bool:
    """Independent receiver, per the documented scheme."""
    lowered = {k.lower(): v for k, v in headers.items()}
    timestamp = lowered.get("x-netpol-rollout-timestamp", "")
    signature = lowered.get("x-netpol-rollout-signature", "")
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance:
        return False
    signed = timestamp.encode("ascii") + b"." + body
    expected = "v1=" + hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def _one(receiver: WebhookReceiver) -> Recorded:
    [request] = receiver.deliveries()
    return request


def test_signature_verifies_and_tampering_is_detected(
    store: Store, clock: FakeClock, notifications: Notifications, receiver: WebhookReceiver
) -> None:
    rollout_id = new_rollout(store)
    event = rollout_events(rollout_id, clock.now)[4]  # approval.requested, the richest
    [key] = enqueue(store, event, notifications, ["webhook:audit"])
    make_worker(store, notifications, clock).run_once()

    request = _one(receiver)
    assert verify(WEBHOOK_SECRET, request.headers, request.body, now=time.time())
    assert not verify("another-secret-entirely", request.headers, request.body, now=time.time())
    assert not verify(WEBHOOK_SECRET, request.headers, request.body + b" ", now=time.time())
    assert not verify(WEBHOOK_SECRET, request.headers, request.body, now=time.time() + 3600)

    assert request.header("Content-Type") == "application/json"
    assert request.header("X-Netpol-Rollout-Event") == "approval.requested"
    assert request.header("X-Netpol-Rollout-Delivery") == key
    body = json.loads(request.body)
    assert body["schema_version"] == 1
    assert body["type"] == "approval.requested"
    assert body["rollout"]["id"] == rollout_id
    assert body["commit"]["sha"] == event.commit.sha  # type: ignore[union-attr]
    assert body["approvals"] == {
        "required": 2,
        "approved_by": [],
        "still_needed": ["2 more from group sre"],
    }
    assert body["next_window"] == {"start": "2026-03-03T14:00:00Z", "end": "2026-03-03T16:00:00Z"}
    assert body["diff"]["opened"] == 3 and body["diff"]["closed"] == 1
