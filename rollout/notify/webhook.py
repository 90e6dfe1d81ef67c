"""Generic JSON webhooks, signed with HMAC-SHA256 over timestamp and body.

Request (documented in docs/notifications.md, "Signature"):

    POST <url>
    Content-Type: application/json
    X-Netpol-Rollout-Event: <event type, e.g. staging.applied>
    X-Netpol-Rollout-Delivery: <idempotency key, identical on every retry>
    X-Netpol-Rollout-Timestamp: <unix seconds at sending>
    X-Netpol-Rollout-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>

The body is the exact bytes signed: compact UTF-8 JSON of the versioned event.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Sequence

import requests

from rollout.config.schema import WebhookSettings
from rollout.core.events import event_to_json
from rollout.errors import ConfigError
from rollout.notify.worker import Delivery, DeliveryError

EVENT_HEADER = "X-Netpol-Rollout-Event"
DELIVERY_HEADER = "X-Netpol-Rollout-Delivery"
TIMESTAMP_HEADER = "X-Netpol-Rollout-Timestamp"
SIGNATURE_HEADER = "X-Netpol-Rollout-Signature"
SIGNATURE_VERSION = "v1"
USER_AGENT = "netpol-rollout-webhook/1"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """`v1=<hex>`: HMAC-SHA256 keyed with `secret` over `b"<timestamp>." + body`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


def encode_body(payload: object) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class WebhookChannel:
    def __init__(
        self,
        settings: WebhookSettings,
        *,
        timeout: float = 10.0,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._timeout = timeout
        self._session = session or requests.Session()
        self._clock = clock

    def secrets(self) -> Sequence[str]:
        try:
            return (self._settings.secret.resolve(),)
        except ConfigError:
            return ()

    def deliver(self, delivery: Delivery) -> str | None:
        name = self._settings.name
        try:
            secret = self._settings.secret.resolve()
        except ConfigError as exc:
            raise DeliveryError(f"webhook {name} is misconfigured: {exc}") from None
        body = encode_body(event_to_json(delivery.event))
        timestamp = int(self._clock())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            EVENT_HEADER: str(delivery.event.type),
            DELIVERY_HEADER: delivery.idempotency_key,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(secret, timestamp, body),
        }
        try:
            response = self._session.post(
                self._settings.url, data=body, headers=headers, timeout=self._timeout
            )
        except requests.RequestException as exc:
            # The URL may embed a secret: name the webhook, not the URL.
            raise DeliveryError(f"webhook {name} unreachable: {type(exc).__name__}") from None
        if 200 <= response.status_code < 300:
            return None
        status = response.status_code
        raise DeliveryError(
            f"webhook {name} answered HTTP {status}",
            retry_after=_retry_after(response) if status in (429, 503) else None,
            # 4xx other than timeout/conflict/too-early/rate-limit will not change on retry.
            permanent=400 <= status < 500 and status not in (408, 409, 425, 429),
        )
