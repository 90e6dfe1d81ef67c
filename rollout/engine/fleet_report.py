"""What a fleet rollout says about itself: the plan, and which cluster runs which revision."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rollout.core.waves import WavePlan, progress_of, running_revision
from rollout.ports import StageResult
from rollout.store import FleetClusterRecord


def revisions(rows: Sequence[FleetClusterRecord]) -> dict[str, Any]:
    """Each cluster's state and the revision it runs (None: changing or nothing of ours)."""
    progress = progress_of(rows)
    return {
        r.cluster: {
            "wave": r.wave,
            "state": r.state,
            "revision": running_revision(progress[r.cluster]),
        }
        for r in rows
    }


def describe_revisions(rows: Sequence[FleetClusterRecord]) -> str:
    """`eu-1 abc123456789 (rolled_back), us-1 def... (verified), ...` for humans."""
    progress = progress_of(rows)
    parts = []
    for r in rows:
        revision = running_revision(progress[r.cluster])
        parts.append(f"{r.cluster} {(revision or 'nothing')[:12]} ({r.state})")
    return ", ".join(parts)


def describe_plan(plan: WavePlan) -> str:
    clusters = len(plan.clusters)
    waves = "; ".join(f"{w.name}: {', '.join(w.clusters)}" for w in plan.waves)
    return f"{clusters} cluster(s) in {len(plan.waves)} wave(s) ({waves})"


def plan_json(plan: WavePlan) -> list[dict[str, Any]]:
    return [
        {
            "wave": w.name,
            "clusters": list(w.clusters),
            "max_parallel": w.max_parallel,
            "soak_seconds": int(w.soak.total_seconds()) if w.soak else None,
        }
        for w in plan.waves
    ]


def stage_summary(result: StageResult) -> dict[str, Any]:
    details = {k: v for k, v in result.details.items() if k in ("content_hash", "status", "counts")}
    return {"summary": result.summary, **details}
