"""What an apply changes (PURE): create / update / delete / unchanged.

`compute_plan(desired, live, prunable)` sorts every object into create / update
/ delete / unchanged, with a field diff, and `drift` when the live object was
edited outside netpol-rollout since we applied it; the order of the writes and
its guarantee are in `rollout.core.apply_order`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from rollout.core.apply_order import order_writes
from rollout.core.changes import Action, Change, FieldChange, Phase, Plan, Step, Write
from rollout.core.objects import (
    HASH_ANNOTATION,
    NAMESPACE,
    SPEC_HASH_ANNOTATION,
    DesiredObject,
    ObjectKey,
    kind_of,
    live_view_for,
    normalized_spec,
    stable_hash,
)

__all__ = [
    "Action",
    "Change",
    "FieldChange",
    "Phase",
    "Plan",
    "Step",
    "Write",
    "compute_plan",
    "field_diff",
    "mark_deleted_by_hand",
    "with_interim_writes_removed",
]

JSON = dict[str, Any]


def compute_plan(
    desired: Sequence[DesiredObject],
    live: Mapping[ObjectKey, Mapping[str, Any]],
    prunable: Mapping[ObjectKey, Mapping[str, Any]],
    *,
    prune: bool = True,
    union_updates: bool = True,
) -> Plan:
    """The changes from `live` to `desired` and their outage-free order.

    `live` holds the live version of desired objects that exist; `prunable` the
    live objects labelled as ours for this environment (anything else is never
    touched). Namespaces in `prunable` are ignored: they are never deleted.
    """
    changes = [_change_for(d, live.get(d.key)) for d in desired]
    wanted = {d.key for d in desired}
    for key in sorted(prunable):
        if key in wanted or (key.group, key.kind) == NAMESPACE:
            continue
        if prune:
            changes.append(
                Change(key, Action.DELETE, live=prunable[key], source=_source(prunable[key]))
            )
    changes.sort(key=lambda c: c.key)
    steps, warnings = order_writes(changes, union_updates)
    return Plan(tuple(changes), steps, tuple(warnings), pruning=prune)


def _source(obj: Mapping[str, Any]) -> str | None:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    value = annotations.get("netpol-rollout.io/source-path")
    return str(value) if value else None


def _change_for(desired: DesiredObject, live: Mapping[str, Any] | None) -> Change:
    source = desired.manifest.source
    if live is None:
        return Change(desired.key, Action.CREATE, desired, None, source=source)
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    want = _view_of_desired(desired)
    have = live_view_for(desired, live)
    drift = _drifted(desired, live, annotations)
    if want == have and annotations.get(HASH_ANNOTATION) == desired.content_hash:
        return Change(desired.key, Action.UNCHANGED, desired, live, drift=False, source=source)
    return Change(
        desired.key, Action.UPDATE, desired, live, tuple(field_diff(have, want)), drift, source
    )


def _view_of_desired(desired: DesiredObject) -> JSON:
    return live_view_for(desired, desired.body)


def _drifted(
    desired: DesiredObject, live: Mapping[str, Any], annotations: Mapping[str, Any]
) -> bool:
    """Edited outside netpol-rollout: what we own no longer matches what we applied."""
    if annotations.get(HASH_ANNOTATION) == desired.content_hash:
        return _view_of_desired(desired) != live_view_for(desired, live)
    recorded = annotations.get(SPEC_HASH_ANNOTATION)
    if recorded is None or kind_of(live) == NAMESPACE:
        return False
    return bool(stable_hash(normalized_spec(live)) != recorded)


def field_diff(before: Any, after: Any, path: str = "") -> list[FieldChange]:
    """Leaf-level differences between two JSON values, with dotted paths."""
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        out: list[FieldChange] = []
        for k in sorted(set(before) | set(after), key=str):
            sub = f"{path}.{k}" if path else str(k)
            out.extend(field_diff(before.get(k), after.get(k), sub))
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            c
            for i, (b, a) in enumerate(zip(before, after, strict=True))
            for c in field_diff(b, a, f"{path}[{i}]")
        ]
    if before == after:
        return []
    return [FieldChange(path, before, after)]


def with_interim_writes_removed(plan: Plan) -> Plan:
    """The plan without union interim objects (e.g. for a dry run of final bodies)."""
    steps = []
    for step in plan.steps:
        writes = tuple(w for w in step.writes if not w.interim)
        if writes:
            steps.append(replace(step, writes=writes))
    return replace(plan, steps=tuple(steps))


def mark_deleted_by_hand(plan: Plan, deployed: Iterable[ObjectKey]) -> Plan:
    """`plan` with the creates of objects the deployed revision has marked as drift:
    they were applied and someone deleted them outside netpol-rollout."""
    keys = set(deployed)
    changes = tuple(
        replace(c, drift=True) if c.action is Action.CREATE and c.key in keys else c
        for c in plan.changes
    )
    return replace(plan, changes=changes)
