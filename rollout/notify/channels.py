"""Build the configured channels, keyed by their outbox channel names."""

from __future__ import annotations

from rollout.config.schema import Notifications
from rollout.notify.github import GitHubChannel
from rollout.notify.outbox import GITHUB, SLACK, webhook_channel
from rollout.notify.slack import SlackChannel
from rollout.notify.webhook import WebhookChannel
from rollout.notify.worker import Channel


def build_channels(notifications: Notifications) -> dict[str, Channel]:
    """`{"slack": ..., "webhook:NAME": ..., "github": ...}` for what is configured.

    Secrets are resolved at delivery, so a missing secret fails that channel's
    deliveries (retried, then dead-lettered) instead of stopping the service."""
    timeout = notifications.delivery.timeout.total_seconds()
    channels: dict[str, Channel] = {}
    if notifications.slack is not None:
        channels[SLACK] = SlackChannel(notifications.slack, timeout=timeout)
    for hook in notifications.webhooks:
        channels[webhook_channel(hook.name)] = WebhookChannel(hook, timeout=timeout)
    if notifications.github is not None:
        channels[GITHUB] = GitHubChannel(notifications.github, timeout=timeout)
    return channels
