"""What the leader prunes so the state store stays bounded: remembered request ids.

Replay protection remembers every Slack request signature and GitHub delivery
id (`seen_requests`). They are needed only while a replay could still pass
the other checks: Slack's 5-minute timestamp window, GitHub's redelivery
horizon (3 days). `server.replay_retention` (default 7 days) keeps them well
past both. The comment and review ids a GitHub decision was taken on
(`github-signed`) guard against a captured body being re-sent under a new
delivery id, which has no horizon: they are kept for
`SIGNED_ID_RETENTION`, past which a comment no longer binds to any new
rollout anyway (it predates them; see docs/security.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

REPLAY_SOURCES = ("slack", "github")
"""Slack request signatures and GitHub delivery ids."""
SIGNED_SOURCES = ("github-signed",)
"""GitHub comment and review ids that decided once."""
SIGNED_ID_RETENTION = timedelta(days=400)


class RequestMemory(Protocol):
    def forget_requests_before(
        self, cutoff: datetime, sources: tuple[str, ...] | None = None
    ) -> int: ...


def prune_seen_requests(store: RequestMemory, now: datetime, retention: timedelta) -> int:
    """Forget request ids past their retention; how many were dropped."""
    dropped = store.forget_requests_before(now - retention, REPLAY_SOURCES)
    dropped += store.forget_requests_before(
        now - max(retention, SIGNED_ID_RETENTION), SIGNED_SOURCES
    )
    return dropped
