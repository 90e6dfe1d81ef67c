"""The real approval service over HTTP: uvicorn in a thread, SQLite in tmp_path.

Fixtures:
  clock        a settable clock shared by the store, the rules and Slack's verifier
  notifications  the config's `notifications` (none); override to configure Slack
               or GitHub (the app then opens modals / posts replies through them)
  store        a migrated SQLite `Store`
  service      `Service`: base URL, helpers to create rollouts, sign and send requests
  slack_hooks  a local stand-in for Slack's `response_url`
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
import yaml

from rollout.config.schema import Settings
from rollout.core.approvals import OpenedConnection
from rollout.server.app import create_app
from rollout.server.auth import github_signature, hash_token
from rollout.server.context import GitHubIntegration, SlackIntegration
from rollout.server.slack_routes import post_to_response_url
from rollout.store import RolloutRecord, Store, open_store
from tests.standins import Recorded, Reply, StandIn
from tests.support.serving import serving

SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
GITHUB_SECRET = "It's a Secret to Everybody"
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
REPOSITORY = "acme/policies"

CONFIG: dict[str, Any] = {
    "repository": {"path": "/tmp/policies"},
    "environments": [
        {"name": "staging", "namespaces": ["shop"], "overlay": "overlays/staging"},
        {
            "name": "production",
            "namespaces": ["shop"],
            "overlay": "overlays/production",
            "approvals": {
                "required": 2,
                "groups": ["approvers"],
                "expires_after": "1h",
                "break_glass_group": "oncall",
                "risk_rules": [
                    {
                        "name": "sensitive-ingress",
                        "when": "opens_ingress_to_labels",
                        "labels": {"data": "sensitive"},
                        "require_groups": {"security": 1},
                    }
                ],
            },
        },
    ],
    "team": {
        "members": [
            {
                "name": "alice",
                "timezone": "Europe/Berlin",
                "groups": ["approvers"],
                "slack_id": "UALICE",
                "github": "alice-gh",
            },
            {
                "name": "bob",
                "timezone": "America/New_York",
                "groups": ["approvers"],
                "slack_id": "UBOB",
                "github": "bob-gh",
            },
            {
                "name": "dave",
                "timezone": "Asia/Tokyo",
                "groups": ["approvers"],
                "slack_id": "UDAVE",
                "github": "dave-gh",
                "email": "dave@example.com",
            },
            {
                "name": "sec",
                "timezone": "Europe/London",
                "groups": ["security"],
                "slack_id": "USEC",
                "github": "sec-gh",
            },
            {
                "name": "olga",
                "timezone": "Europe/Paris",
                "groups": ["oncall"],
                "slack_id": "UOLGA",
            },
        ]
    },
}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class ResponseUrlStandIn(StandIn):
    """Slack's `response_url`: records what we post back."""

    def route(self, request: Recorded) -> Reply:
        if request.method != "POST" or not (request.header("Content-Type") or "").startswith(
            "application/json"
        ):
            self.violation(f"unexpected {request.method} {request.path}")
        return Reply(200, b"ok")

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.requests) < count:
            time.sleep(0.02)
        return [r.json for r in self.requests]


@dataclass
class Service:
    url: str
    store: Store
    clock: Clock
    hooks: ResponseUrlStandIn
    pull_heads: dict[int, str]
    pushes: list[Any] = field(default_factory=list)

    # --- state -------------------------------------------------------------------------

    def rollout(
        self,
        sha: str = "a" * 40,
        *,
        author: str = "dave",
        email: str = "dave@example.com",
        opened: list[OpenedConnection] | None = None,
    ) -> RolloutRecord:
        record = self.store.create_rollout(
            environment="production",
            commit_sha=sha,
            author=author,
            author_email=email,
            message="open web -> api",
            state="awaiting_approval",
        )
        if opened:
            record = self.store.set_artifacts(
                record.id, {"risk": {"opened": [c.to_json() for c in opened]}}
            )
        return record

    def state(self, rollout_id: str) -> str:
        record = self.store.get_rollout(rollout_id)
        assert record is not None
        return record.state

    def token(self, member: str) -> str:
        token = f"nrt_test_{member}_{time.monotonic_ns()}"
        self.store.create_token(member, hash_token(token))
        return token

    # --- Slack -------------------------------------------------------------------------

    def slack_headers(self, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
        ts = str(int(self.clock().timestamp()) if timestamp is None else timestamp)
        base = b"v0:" + ts.encode() + b":" + body
        digest = hmac.new(SLACK_SECRET.encode(), base, hashlib.sha256).hexdigest()
        return {
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": f"v0={digest}",
            "Content-Type": "application/x-www-form-urlencoded",
        }

    def slack_command(self, user: str, text: str, **extra: str) -> tuple[bytes, dict[str, str]]:
        form = {
            "command": "/rollout",
            "text": text,
            "user_id": user,
            "response_url": f"{self.hooks.origin}/commands/T1/1/x",
            "trigger_id": f"trig-{time.monotonic_ns()}",
            **extra,
        }
        body = urlencode(form).encode()
        return body, self.slack_headers(body)

    def post_slack(self, path: str, body: bytes, headers: dict[str, str]) -> requests.Response:
        return requests.post(f"{self.url}{path}", data=body, headers=headers, timeout=10)

    # --- GitHub ------------------------------------------------------------------------

    def post_github(
        self, event: str, payload: bytes, *, delivery: str, signature: str | None = None
    ) -> requests.Response:
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": signature or github_signature(GITHUB_SECRET, payload),
            "Content-Type": "application/json",
        }
        return requests.post(
            f"{self.url}/github/webhook", data=payload, headers=headers, timeout=10
        )


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def notifications() -> dict[str, Any]:
    return {}


def secret_file(tmp_path: Path, name: str, value: str) -> dict[str, str]:
    """A `SecretRef` to a file holding `value`."""
    path = tmp_path / f"{name}.secret"
    path.write_text(value)
    return {"file": str(path)}


@pytest.fixture
def max_body_bytes() -> int:
    """`server.max_body_bytes`; override in a module that sends large bodies."""
    return 4096


@pytest.fixture
def config_file(tmp_path: Path, notifications: dict[str, Any], max_body_bytes: int) -> Path:
    data = {**CONFIG, "store": {"url": f"sqlite:///{tmp_path / 'state.db'}"}}
    data["server"] = {"max_body_bytes": max_body_bytes}
    if notifications:
        data["notifications"] = notifications
    path = tmp_path / "rollout.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def settings(config_file: Path) -> Settings:
    from rollout.config.loader import load_config

    return load_config(config_file)


@pytest.fixture
def store(settings: Settings, clock: Clock) -> Iterator[Store]:
    store = open_store(settings.store.url, clock=clock)
    yield store
    store.close()


@pytest.fixture
def slack_hooks() -> Iterator[ResponseUrlStandIn]:
    standin = ResponseUrlStandIn()
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def service(
    settings: Settings, store: Store, clock: Clock, slack_hooks: ResponseUrlStandIn
) -> Iterator[Service]:
    pull_heads: dict[int, str] = {}
    pushes: list[Any] = []
    app = create_app(
        settings,
        store,
        clock=clock,
        slack=SlackIntegration(
            signing_secret=SLACK_SECRET,
            respond=post_to_response_url,
            response_url_prefixes=(slack_hooks.origin,),
        ),
        github=GitHubIntegration(
            webhook_secret=GITHUB_SECRET,
            repository=REPOSITORY,
            on_push=pushes.append,
            pull_request_head=lambda _repo, number: pull_heads.get(number),
        ),
    )
    with serving(app) as url:
        yield Service(url, store, clock, slack_hooks, pull_heads, pushes)
    assert slack_hooks.violations == []
