"""`notifications`: Slack, webhooks, GitHub, delivery retries and the review digest."""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import Field, field_validator, model_validator

from rollout.config.schema.types import (
    CronExpression,
    DnsLabel,
    Duration,
    EventName,
    HttpUrl,
    SecretRef,
    Strict,
    TimezoneName,
)


class SlackSettings(Strict):
    """Slack: a bot token (messages updated in place) or an incoming-webhook URL.

    ```yaml
    slack:
      bot_token: {env: ROLLOUT_SLACK_BOT_TOKEN}
      channel: "#netpol-rollouts"
      signing_secret: {env: ROLLOUT_SLACK_SIGNING_SECRET}
    ```
    """

    bot_token: SecretRef | None = Field(
        default=None,
        description="Bot token (scope `chat:write`): one message per rollout, updated in "
        "place, with a thread and Approve/Reject buttons. Exactly one of `bot_token` and "
        "`webhook_url`.",
    )
    webhook_url: SecretRef | None = Field(
        default=None,
        description="Incoming-webhook URL (a secret): one message per event, no buttons.",
    )
    channel: str | None = Field(
        default=None,
        description="Channel to post in (`#name` or an id); required with `bot_token`.",
    )
    signing_secret: SecretRef | None = Field(
        default=None,
        description="The Slack app's signing secret; enables slash commands and buttons "
        "(approve, reject from Slack). None: Slack can only receive.",
    )
    api_url: HttpUrl = Field(
        default="https://slack.com/api/",
        description="Slack Web API base URL (bot mode); change only for a proxy or a test server.",
    )
    response_url_prefixes: tuple[HttpUrl, ...] = Field(
        default=("https://hooks.slack.com/",),
        description="Where slash-command and button answers may be posted: a request's "
        "`response_url` must have the scheme, host and port of one of these and a path "
        "under its path (compared parsed, never as text), or no answer is sent (so a "
        "forged request cannot make the service call an arbitrary URL).",
    )

    @model_validator(mode="after")
    def _one_mode(self) -> SlackSettings:
        if (self.bot_token is None) == (self.webhook_url is None):
            raise ValueError("give exactly one of 'bot_token' (with 'channel') or 'webhook_url'")
        if self.bot_token is not None and not self.channel:
            raise ValueError("'channel' is required with 'bot_token'")
        return self


class WebhookSettings(Strict):
    """A generic JSON webhook, signed with HMAC-SHA256 over timestamp and body.

    One `POST` per event (docs/notifications.md: event schema, signature).

    ```yaml
    webhooks:
      - name: ops
        url: https://ops.example.com/hooks/netpol
        secret: {file: /etc/netpol-rollout/ops-webhook.secret}
        events: [production.applied, production.failed]
    ```
    """

    name: DnsLabel = Field(
        description="Unique channel name, used in `environments[].notify` (avoid `slack` "
        "and `github`, which name those channels)."
    )
    url: HttpUrl = Field(description="Where events are POSTed.")
    secret: SecretRef = Field(
        description="HMAC-SHA256 key for the `X-Netpol-Rollout-Signature` header."
    )
    events: tuple[EventName, ...] = Field(
        default=(),
        description="Event types to send (e.g. `production.applied`, `smoke.failed`); "
        "empty: every event.",
    )


class GitHubSettings(Strict):
    """Commit statuses and one pull-request comment edited in place; also approvals.

    ```yaml
    github:
      repository: example-org/network-policies
      token: {env: ROLLOUT_GITHUB_TOKEN}
      webhook_secret: {env: ROLLOUT_GITHUB_WEBHOOK_SECRET}
    ```
    """

    repository: str = Field(description="`OWNER/NAME` of the policy repository on GitHub.")
    token: SecretRef = Field(description="Token with `statuses:write` and `pull_requests:write`.")
    api_url: HttpUrl = Field(
        default="https://api.github.com",
        description="GitHub API base URL; GitHub Enterprise: `https://HOST/api/v3`.",
    )
    webhook_secret: SecretRef | None = Field(
        default=None,
        description="Secret of the repository's webhook; enables the push (fetch at once) "
        "and pull-request review (approve) webhooks. None: no webhooks are accepted.",
    )

    @field_validator("repository")
    @classmethod
    def _owner_name(cls, value: str) -> str:
        if not re.match(r"^[\w.-]+/[\w.-]+$", value):
            raise ValueError(f"expected OWNER/NAME, got {value!r}")
        return value


class DeliverySettings(Strict):
    """Retries of failed deliveries, for every channel.

    The wait after failed attempt n is random in `[0, min(max_delay,
    base_delay * 2^(n-1))]`; a `Retry-After` from the server wins.

    ```yaml
    delivery: {max_attempts: 8, base_delay: 2s, max_delay: 10m, timeout: 10s}
    ```
    """

    max_attempts: int = Field(
        default=8,
        ge=1,
        le=100,
        description="Attempts before a delivery is dead-lettered (kept with status `dead`, "
        "shown by `rollout status`).",
    )
    base_delay: Duration = Field(
        default=timedelta(seconds=2), description="Backoff ceiling after the first failure."
    )
    max_delay: Duration = Field(
        default=timedelta(minutes=10), description="The backoff ceiling never grows past this."
    )
    timeout: Duration = Field(default=timedelta(seconds=10), description="Timeout of each request.")


class DigestSettings(Strict):
    """The periodic review digest (`review.digest`) to Slack and webhooks.

    ```yaml
    digest: {enabled: true, schedule: "0 9 1 * *", timezone: Europe/Berlin}
    ```
    """

    enabled: bool = Field(default=True, description="`false`: no digest is sent.")
    schedule: CronExpression = Field(
        default="0 9 1 * *",
        description="When to send it: a 5-field cron expression in `timezone`; the default "
        "is 09:00 on the 1st of each month.",
    )
    timezone: TimezoneName = Field(default="UTC", description="The timezone of `schedule`.")


class Notifications(Strict):
    """Where rollout events go (docs/notifications.md).

    Delivery goes through a transactional outbox: a failing channel never
    blocks a rollout or the other channels.
    """

    slack: SlackSettings | None = Field(default=None, description="None: no Slack.")
    webhooks: tuple[WebhookSettings, ...] = Field(
        default=(), description="Generic JSON webhooks, each a channel of its own."
    )
    github: GitHubSettings | None = Field(
        default=None, description="None: no commit statuses, comments or GitHub approvals."
    )
    delivery: DeliverySettings = Field(
        default_factory=DeliverySettings, description="Retries and timeouts of deliveries."
    )
    digest: DigestSettings = Field(
        default_factory=DigestSettings, description="The periodic review digest."
    )
