"""Body size limit, and Slack's/GitHub's documented examples through the real server."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
import requests

from tests.integration.approvals.conftest import Service

pytestmark = pytest.mark.integration

SLACK_DOC_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    b"&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
    b"&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
    b"%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
GITHUB_DOC_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_slack_documented_example_verifies(service: Service) -> None:
    service.clock.now = datetime.fromtimestamp(1531420618 + 30, UTC)
    headers = {
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": SLACK_DOC_SIGNATURE,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    response = service.post_slack("/slack/commands", SLACK_DOC_BODY, headers)
    # Verified; the example's user is simply not on our roster.
    assert response.status_code == 200
    assert "U2CERLKJA is not on the netpol-rollout team roster" in response.json()["text"]


def test_github_documented_example_verifies(service: Service) -> None:
    response = service.post_github(
        "ping", b"Hello, World!", delivery="doc-1", signature=GITHUB_DOC_SIGNATURE
    )
    assert response.status_code == 400  # past the signature; the example is not JSON
    assert response.json()["result"] == "malformed ping: not valid JSON"


def _chunks(total: int) -> Iterator[bytes]:
    for _ in range(total // 1024):
        yield b"x" * 1024


def test_declared_oversized_body_is_refused_before_it_is_sent(service: Service) -> None:
    parts = urlsplit(service.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(
            b"POST /github/webhook HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n{"
        )
        started = time.monotonic()
        answer = b""
        while chunk := sock.recv(4096):  # the server closes after answering
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"server.max_body_bytes" in answer
    assert time.monotonic() - started < 2


def test_streamed_oversized_body_is_refused(service: Service) -> None:
    response = requests.post(f"{service.url}/slack/commands", data=_chunks(64 * 1024), timeout=10)
    assert response.status_code == 413


def test_oversized_json_body_on_the_api_is_refused(service: Service) -> None:
    token = service.token("alice")
    rollout = service.rollout()
    response = requests.post(
        f"{service.url}/api/v1/rollouts/{rollout.id}/reject",
        data=_chunks(64 * 1024),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 413
    assert service.state(rollout.id) == "awaiting_approval"
