"""A local receiver for the signed webhook notifications, as a team would run one.

It verifies every request exactly as docs/notifications.md describes
(HMAC-SHA256 over `"{timestamp}.{body}"`, five minutes of tolerance) and keeps
what arrived, with the verdict, for the demo to show.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Delivery:
    event: str
    delivery_id: str
    verified: bool
    payload: dict[str, Any]


def verify(secret: str, headers: dict[str, str], body: bytes, tolerance: int = 300) -> bool:
    """True if a netpol-rollout webhook request is authentic and fresh."""
    lowered = {k.lower(): v for k, v in headers.items()}
    timestamp = lowered.get("x-netpol-rollout-timestamp", "")
    signature = lowered.get("x-netpol-rollout-signature", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    signed = timestamp.encode("ascii") + b"." + body
    expected = "v1=" + hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


class WebhookReceiver:
    """HTTP server on a free loopback port; `deliveries` in arrival order (deduplicated)."""

    def __init__(self, secret: str) -> None:
        self._secret = secret
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        self.deliveries: list[Delivery] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver._receive(dict(self.headers.items()), body)
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the demo shows deliveries itself

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="webhook-receiver", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hooks/netpol-rollout"

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def take(self, start: int) -> list[Delivery]:
        """Deliveries from index `start` on."""
        with self._lock:
            return self.deliveries[start:]

    def _receive(self, headers: dict[str, str], body: bytes) -> None:
        ok = verify(self._secret, headers, body)
        lowered = {k.lower(): v for k, v in headers.items()}
        delivery_id = lowered.get("x-netpol-rollout-delivery", "")
        try:
            payload = json.loads(body) if ok else {}
        except ValueError:
            payload = {}
        with self._lock:
            if delivery_id and delivery_id in self._seen:
                return  # a retry of something we have: deduplicate on the delivery id
            self._seen.add(delivery_id)
            self.deliveries.append(
                Delivery(lowered.get("x-netpol-rollout-event", "?"), delivery_id, ok, payload)
            )


def of_rollout(deliveries: list[Delivery], rollout_id: str) -> list[Delivery]:
    """The deliveries about one rollout (a previous rollout's late ones are not its own)."""
    mine = []
    for d in deliveries:
        rollout = d.payload.get("rollout")
        if isinstance(rollout, dict) and rollout.get("id") == rollout_id:
            mine.append(d)
    return mine
