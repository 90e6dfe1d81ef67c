"""The deployment ledger: which revision each environment runs, and rolling back.

Each write tolerates a repeat after a crash: a deployment already recorded
for this rollout is not recorded twice, and a rollback re-applies the same
last good revision.
"""

from __future__ import annotations

from rollout.engine.transitions import SYSTEM
from rollout.ports import EnvironmentOps, StageResult
from rollout.store import Store
from rollout.store.records import RolloutRecord

ROLLBACK_SKIPPED = "rollback.skipped"


class Deployments:
    """Records what was deployed where, and puts environments back when a rollout fails."""

    def __init__(self, store: Store, ops: EnvironmentOps) -> None:
        self._store = store
        self._ops = ops

    def record(self, rollout: RolloutRecord, env: str, result: StageResult) -> None:
        """Record that `env` now runs the rollout's revision (once, even after a crash)."""
        last = self._store.last_deployment(env)
        if (
            last is not None
            and last.rollout_id == rollout.id
            and last.commit_sha == rollout.commit_sha
        ):
            return  # recorded before a crash
        self._store.record_deployment(
            env, rollout.commit_sha, _content_hash(result), rollout_id=rollout.id
        )

    def rollback(self, rollout: RolloutRecord, environment: str) -> None:
        """Put `environment` back on its last good revision before this rollout."""
        to_sha: str | None = None
        for deployment in self._store.deployments(environment):
            if deployment.commit_sha == rollout.commit_sha:
                if deployment.status == "applied":
                    self._store.set_deployment_status(deployment.id, "rolled_back")
                continue
            if deployment.status == "applied":
                to_sha = deployment.commit_sha
                break
        result = self._ops.rollback(environment, to_sha, rollout.id)
        self._store.record_event(
            "rollback",
            actor=SYSTEM,
            channel="system",
            rollout_id=rollout.id,
            environment=environment,
            details={"to": to_sha, "ok": result.ok, "summary": result.summary},
        )
        if result.ok and to_sha is not None:
            self._store.record_deployment(
                environment, to_sha, _content_hash(result), rollout_id=rollout.id
            )

    def skip_rollback(self, rollout: RolloutRecord, environment: str, result: StageResult) -> None:
        """Audit that `environment` keeps the failing revision, as configured."""
        self._store.record_event(
            ROLLBACK_SKIPPED,
            actor=SYSTEM,
            channel="system",
            rollout_id=rollout.id,
            environment=environment,
            details={
                "why": f"rollback skipped: {environment} has smoke.rollback_on_failure: false",
                "kept": rollout.commit_sha,
                "summary": result.summary,
            },
        )


def _content_hash(result: StageResult) -> str:
    value = result.details.get("content_hash", "")
    return value if isinstance(value, str) else ""
