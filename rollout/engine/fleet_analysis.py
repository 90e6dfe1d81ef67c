"""One analysis of a change for a whole fleet, from one per cluster (PURE).

Reviewers read the first cluster's diff (the canary: what they approve), but
risk rules must see every cluster: a cluster with an overlay of its own, or
live pods the others lack, can open traffic the canary does not. So the
approval request carries the canary's diff and lint, the union of every
cluster's opened connections and cut flows for the risk rules, and under
`diff.fleet` which clusters were analysed and how the others differ.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from rollout.ports import ChangeAnalysis

# The most lines of another cluster's own changes added to `riskiest`.
OTHER_CLUSTER_LINES = 10


def fleet_analysis(analyses: Sequence[tuple[str, ChangeAnalysis]]) -> ChangeAnalysis:
    """Merge per-cluster analyses, first cluster first (see the module docstring)."""
    (first_name, first), others = analyses[0], analyses[1:]
    opened = _union(a.risk.get("opened") for _, a in analyses)
    risk: dict[str, Any] = {**first.risk, "opened": opened}
    if any("cut_flows" in a.risk for _, a in analyses):
        risk["cut_flows"] = _union(a.risk.get("cut_flows") for _, a in analyses)
    differ: dict[str, dict[str, int]] = {}
    errors: dict[str, str] = {}
    riskiest = list(first.diff.get("riskiest") or ())
    for name, analysis in others:
        if "error" in analysis.diff:
            errors[name] = str(analysis.diff["error"])
            continue
        extra = {
            side: _missing(analysis.diff.get(side), first.diff.get(side))
            for side in ("opened", "closed")
        }
        if any(extra.values()):
            differ[name] = {side: len(items) for side, items in extra.items()}
            own = [line for line in analysis.diff.get("riskiest") or () if line not in riskiest]
            riskiest += [f"{line} (on {name})" for line in own[:OTHER_CLUSTER_LINES]]
    fleet: dict[str, Any] = {
        "analysed": [name for name, _ in analyses],
        "shown": first_name,
        "differ": differ,
    }
    if errors:
        fleet["errors"] = errors
    diff = {**first.diff, "fleet": fleet}
    if "riskiest" in first.diff or riskiest:
        diff["riskiest"] = riskiest
    return ChangeAnalysis(diff=diff, lint=first.lint, risk=risk)


def fleet_analysis_text(diff: Mapping[str, Any]) -> str:
    """`analysed on 4 clusters (diff of canary-1 shown); us-1 differs: +2 opened`, or ""."""
    fleet = diff.get("fleet")
    if not isinstance(fleet, Mapping):
        return ""
    analysed = fleet.get("analysed") or []
    text = f"analysed on {len(analysed)} cluster(s) (diff of {fleet.get('shown')} shown)"
    differ = fleet.get("differ") or {}
    parts = [
        f"{name} differs: +{counts.get('opened', 0)} opened, -{counts.get('closed', 0)} closed"
        for name, counts in differ.items()
    ]
    parts += [f"{name} not analysed: {why}" for name, why in (fleet.get("errors") or {}).items()]
    if not parts:
        return f"{text}; the others change the same"
    return f"{text}; " + "; ".join(parts)


def _key(item: Any) -> str:
    return json.dumps(item, sort_keys=True, separators=(",", ":"))


def _items(value: Any) -> list[Any]:
    """A list of connections or flows; anything else (a bare count) as none."""
    return value if isinstance(value, list) else []


def _union(lists: Any) -> list[Any]:
    seen: dict[str, Any] = {}
    for items in lists:
        for item in _items(items):
            seen.setdefault(_key(item), item)
    return list(seen.values())


def _missing(items: Any, baseline: Any) -> list[Any]:
    """Items of `items` that `baseline` does not have."""
    known = {_key(i) for i in _items(baseline)}
    return [i for i in _items(items) if _key(i) not in known]
