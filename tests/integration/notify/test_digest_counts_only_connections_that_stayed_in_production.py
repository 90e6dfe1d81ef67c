"""The digest counts a connection as opened only when its rollout reached production
and stayed: one applied to production and then rolled back (its production smoke tests
failed) opened nothing. The Markdown shows connections as written, not HTML-escaped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from rollout.config import load_config
from rollout.core.events import ReviewDigest
from rollout.digest_job import ReviewDigestJob
from rollout.notify.digest import digest_markdown, digest_slack_blocks
from rollout.store import Store
from rollout.wiring import git_for
from tests.integration.notify.conftest import FakeClock

START = datetime(2026, 2, 1, tzinfo=UTC)
END = datetime(2026, 3, 1, tzinfo=UTC)


def _connection(source: str, destination: str, port: int) -> dict[str, Any]:
    return {"from": source, "to": destination, "port": port, "protocol": "TCP", "policies": []}


def _to_production(store: Store, clock: FakeClock, at: datetime, opened: str) -> str:
    clock.now = at
    record = store.create_rollout(
        environment="production",
        commit_sha=f"{at.toordinal():040x}",
        author="Alice Example",
        author_email="alice@example.com",
        message="change",
        state="approved",
    )
    clock.now = at + timedelta(minutes=5)
    store.transition(
        record.id,
        ["approved"],
        "production_applied",
        actor="system",
        channel="system",
        artifacts={"diff": {"opened": [_connection(opened, "ledger/db", 5432)], "closed": []}},
    )
    return record.id


def test_a_rollout_rolled_back_in_production_opened_nothing(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    config = tmp_path / "rollout.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "repository": {"path": str(tmp_path)},
                "environments": [
                    {"name": "production", "namespaces": ["ledger"], "overlay": "production"}
                ],
            }
        )
    )
    settings = load_config(config)
    _to_production(store, clock, datetime(2026, 2, 3, tzinfo=UTC), "payments/api")
    failed = _to_production(store, clock, datetime(2026, 2, 10, tzinfo=UTC), "batch/job")
    clock.now = datetime(2026, 2, 10, 0, 20, tzinfo=UTC)
    store.transition(
        failed,
        ["production_applied"],
        "production_failed",
        actor="system",
        channel="system",
        reason="production smoke tests failed; restored the previous revision",
    )
    store.record_event(
        "rollback", actor="system", channel="system", rollout_id=failed, environment="production"
    )
    job = ReviewDigestJob(settings, store, git_for(settings.repository), clock=clock)

    opened, closed, rollouts, rollbacks = job.history(START, END)

    assert opened == ["payments/api -> ledger/db TCP 5432"]
    assert (closed, rollouts, rollbacks) == ([], 2, 1)


def test_markdown_shows_connections_as_written_and_slack_escapes_them() -> None:
    digest = ReviewDigest(
        period_start=START,
        period_end=END,
        connectivity_opened=("payments/api -> ledger/db TCP 5432",),
    )

    markdown = digest_markdown(digest)
    slack = str([b.to_dict() for b in digest_slack_blocks(digest)])

    assert "`payments/api -> ledger/db TCP 5432`" in markdown
    assert "&gt;" not in markdown
    assert "payments/api -&gt; ledger/db TCP 5432" in slack
