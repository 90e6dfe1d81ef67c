"""A smoke.failed notification counts and names the checks that failed or errored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rollout.config.schema import Settings
from rollout.smoke.results import CheckResult, SmokeReport
from rollout.smoke.suite import stage_result
from rollout.store.records import RolloutRecord
from rollout.wiring import announcer

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)

SETTINGS = Settings.model_validate(
    {
        "repository": {"path": "/tmp/policies"},
        "environments": [{"name": "staging", "namespaces": ["apps"], "overlay": "staging"}],
        "notifications": {
            "webhooks": [
                {"name": "ops", "url": "https://ops.example.com/hook", "secret": {"env": "X"}}
            ]
        },
    }
)


def _check(name: str, outcome: str) -> CheckResult:
    return CheckResult(name, "expectation", outcome, f"{name} was {outcome}")  # type: ignore[arg-type]


def test_failed_and_errored_checks_are_counted_and_named() -> None:
    report = SmokeReport(
        "staging",
        "run-1",
        T0,
        T0 + timedelta(seconds=3),
        (_check("web-to-api", "passed"), _check("api-to-db", "failed"), _check("dns", "error")),
    )
    result = stage_result(report)
    smoke = {"staging": {"ok": result.ok, "summary": result.summary, "report": result.details}}
    rollout = RolloutRecord(
        "r-1", "staging", "a" * 40, None, "Bob", "bob@example.com", "m", "staging_applied",
        None, None, T0, T0, smoke=smoke,
    )  # fmt: skip

    [item] = announcer(SETTINGS, lambda: T0)(rollout, "smoke.failed", {})

    summary = item.payload["smoke"]
    assert summary["passed"] == 1
    assert summary["failed"] == 2
    assert summary["failures"] == ["api-to-db: api-to-db was failed", "dns: dns was error"]
