"""What the HTTP routers share: settings, store, services, clock, channel integrations.

Routers are built by functions taking a `ServerContext`, so the app factory
(and later the service's own routes) compose them without globals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from rollout.approvals_service import ApprovalsService, ApprovalStore
from rollout.config.schema import Settings
from rollout.store.records import FleetClusterRecord, OutboxRecord

Clock = Callable[[], datetime]
SlackResponder = Callable[[str, Mapping[str, Any]], None]
"""Posts a message payload to a Slack `response_url`."""
PushHandler = Callable[[Mapping[str, Any]], None]
"""Receives a verified, de-duplicated GitHub `push` payload (the git watcher plugs in here)."""
PullRequestHead = Callable[[str, int], str | None]
"""(repository full name, pull-request number) -> the head commit sha, or None."""
ViewOpener = Callable[[str, Mapping[str, Any]], None]
"""(trigger_id, Block Kit view) -> opens a Slack modal (`views.open`); raises NotificationError."""


@dataclass(frozen=True)
class CommentTarget:
    """Where a reply comment goes on GitHub: a pull request (issue) or a commit."""

    repository: str
    """`OWNER/NAME`."""
    issue: int | None = None
    """The pull request's number (`/issues/{n}/comments`); None for a commit comment."""
    commit_sha: str | None = None
    """The commented commit (`/commits/{sha}/comments`) when `issue` is None."""


CommentPoster = Callable[[CommentTarget, str], None]
"""Posts a comment (markdown body) on GitHub; raises NotificationError."""


class ServerStore(ApprovalStore, Protocol):
    """The part of `rollout.store.Store` the HTTP layer uses."""

    def seen_request(self, source: str, request_id: str) -> bool: ...

    def member_for_token_hash(self, token_hash: str) -> str | None: ...

    def outbox_items(
        self, status: str | None = None, *, rollout_id: str | None = None
    ) -> list[OutboxRecord]: ...

    def fleet_clusters(
        self, rollout_id: str, environment: str | None = None
    ) -> list[FleetClusterRecord]: ...


@dataclass(frozen=True)
class SlackIntegration:
    signing_secret: str
    respond: SlackResponder
    """How replies reach `response_url` (default: slack_sdk's WebhookClient)."""
    response_url_prefixes: tuple[str, ...] = ("https://hooks.slack.com/",)
    """A `response_url` elsewhere is never called, even in a correctly signed request."""
    windows_text: Callable[[], str] | None = None
    """Answers `/rollout windows` (the windows module plugs in here)."""
    open_view: ViewOpener | None = None
    """Opens the Reject modal (bot-token mode only). None: the Reject button answers
    with the `/rollout reject ID REASON` command to type instead."""

    def allows_response_url(self, url: str) -> bool:
        """Whether `url` lies under one of `response_url_prefixes` (see `url_under`)."""
        return any(url_under(url, str(prefix)) for prefix in self.response_url_prefixes)


_DEFAULT_PORTS = {"http": 80, "https": 443}


def url_under(url: str, prefix: str) -> bool:
    """Whether `url` has `prefix`'s scheme, host and port and a path under its path.

    Parsed, never compared as strings: `https://hooks.slack.com.evil.example/`
    and `https://hooks.slack.com@evil.example/` are not under
    `https://hooks.slack.com`, and `/servicesX` is not under `/services`.
    """
    try:
        got, want = urlsplit(url), urlsplit(prefix)
        got_port = got.port or _DEFAULT_PORTS.get(got.scheme.lower())
        want_port = want.port or _DEFAULT_PORTS.get(want.scheme.lower())
    except ValueError:  # an invalid port, or an unparsable address
        return False
    if got.scheme.lower() != want.scheme.lower() or got.username or got.password:
        return False
    if not got.hostname or got.hostname != want.hostname or got_port != want_port:
        return False
    base = want.path.rstrip("/")
    return got.path == base or got.path.startswith(base + "/")


@dataclass(frozen=True)
class GitHubIntegration:
    webhook_secret: str
    repository: str | None = None
    """`OWNER/NAME`: deliveries naming any other repository are audited and ignored.
    None: `notifications.github.repository` (no repository configured: all are ignored)."""
    on_push: PushHandler | None = None
    pull_request_head: PullRequestHead | None = None
    """Needed for `/rollout` comments on pull requests (issue_comment has no head sha)."""
    reply: CommentPoster | None = None
    """Posts each decision's outcome back as a comment, after the webhook is answered.
    None: the outcome is only in the webhook's response. `create_app` fills it in
    from `notifications.github` (token, api_url) when that is configured."""


@dataclass(frozen=True)
class ServerContext:
    settings: Settings
    store: ServerStore
    approvals: ApprovalsService
    clock: Clock
    slack: SlackIntegration | None = None
    github: GitHubIntegration | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)
    """Room for later services (scheduler, leader election) without changing this type."""
