"""`rollout status` has a header, each rollout's age and reason, and events that say
which state a rollout left and entered (it printed `state.changed by netpol-rollout via
system`, no header, age nor reason)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rollout.cli.status_cmd import age, render_overview, render_rollout

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _rollout(**extra: Any) -> dict[str, Any]:
    return {
        "id": "r-7f3a9c01de",
        "environment": "staging",
        "commit_sha": "3f2c9a1b7d4e5f60718293a4b5c6d7e8f9012345",
        "previous_sha": None,
        "author": "Grace Hopper",
        "message": "Allow payments to reach the ledger\n\nDetails.",
        "state": "staging_failed",
        "reason": "smoke tests failed: 1 of 8 checks",
        "superseded_by": None,
        "created_at": "2026-03-02T09:55:00+00:00",
        "updated_at": "2026-03-02T11:30:00+00:00",
        **extra,
    }


def test_the_overview_has_a_header_and_each_rollouts_age_and_reason() -> None:
    text = render_overview({"rollouts": [_rollout()], "deliveries": []}, NOW)

    header, row = text.splitlines()
    assert header.split() == [
        "ROLLOUT",
        "COMMIT",
        "ENVIRONMENT",
        "STATE",
        "AGE",
        "AUTHOR",
        "REASON",
    ]
    assert "r-7f3a9c01de" in row and "3f2c9a1b" in row and "staging_failed" in row
    assert "2h 5m" in row
    assert row.endswith("smoke tests failed: 1 of 8 checks")
    assert header.index("AGE") == row.index("2h 5m")


def test_one_rollout_says_since_when_why_and_which_states_events_moved_between() -> None:
    events = [
        {
            "kind": "state.changed",
            "actor": "netpol-rollout",
            "channel": "system",
            "environment": "staging",
            "details": {
                "from": "staging_applied",
                "to": "staging_failed",
                "reason": "smoke tests failed",
            },
            "at": "2026-03-02T11:30:00+00:00",
        },
        {
            "kind": "approval.granted",
            "actor": "ada",
            "channel": "slack",
            "environment": "production",
            "details": {},
            "at": "2026-03-02T11:40:00+00:00",
        },
    ]

    text = render_rollout({"rollout": _rollout(), "approval": None, "events": events}, NOW)

    assert text.splitlines()[0] == "Rollout r-7f3a9c01de"
    assert "staging_failed for 30m (created 2h 5m ago)" in text
    assert "reason       smoke tests failed: 1 of 8 checks" in text
    assert "Allow payments to reach the ledger" in text and "Details." not in text
    assert (
        "2026-03-02 11:30:00 UTC  staging_applied -> staging_failed  by netpol-rollout via "
        "system (staging): smoke tests failed"
    ) in text
    assert "approval.granted  by ada via slack (production)" in text


def test_ages_read_in_the_largest_useful_units() -> None:
    assert [
        age(datetime(2026, 3, 2, 12, 0, tzinfo=UTC) - d, NOW)
        for d in (
            NOW - datetime(2026, 3, 2, 11, 59, 15, tzinfo=UTC),
            NOW - datetime(2026, 3, 2, 11, 48, tzinfo=UTC),
            NOW - datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
            NOW - datetime(2026, 2, 28, 8, 0, tzinfo=UTC),
        )
    ] == ["45s", "12m", "3h", "2d 4h"]
