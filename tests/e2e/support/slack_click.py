"""A Slack interaction (a button click) as Slack sends it: form-encoded `payload`,
signed with the v0 scheme (`v0:<timestamp>:<body>`, HMAC-SHA256, signing secret)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import requests


def sign(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def click(
    base_url: str,
    secret: str,
    *,
    user_id: str,
    action_id: str,
    value: str,
    response_url: str = "https://hooks.slack.com/actions/T0/1/e2e",
) -> requests.Response:
    """POST one signed `block_actions` interaction to `/slack/interactions`."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id},
        "trigger_id": f"e2e.{uuid.uuid4().hex}",
        "response_url": response_url,
        "actions": [{"action_id": action_id, "value": value, "type": "button"}],
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": sign(secret, timestamp, body),
    }
    return requests.post(f"{base_url}/slack/interactions", data=body, headers=headers, timeout=10)


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every button element in a message's blocks."""
    return [
        element
        for block in blocks
        if block.get("type") == "actions"
        for element in block.get("elements", [])
        if element.get("type") == "button"
    ]
