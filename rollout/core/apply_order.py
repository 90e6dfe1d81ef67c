"""The outage-free order of a plan's writes (PURE).

Writes are grouped in phases; the writes of one phase run in parallel (in any
order), phases run one after the other:

  0 NAMESPACES  namespace label changes (new policies may select new labels)
  1 WIDEN       new NetworkPolicies whose pods are already isolated, in each of
                their directions, by a policy present before and after (they
                only add allowed connections); updates that keep podSelector,
                policyTypes and every old rule; for the other updates keeping
                podSelector and policyTypes, an interim *union* object (old
                rules + new rules: allows a superset of both versions)
  2 ISOLATE     new policies that isolate pods not isolated before, with rules
                in every newly isolated direction; updates that only widen
                their podSelector/policyTypes keeping every rule; other kinds
  3 BASELINE    new policies (or such updates) with a newly isolated direction
                without rules: default-deny baselines come after the allows
  4 NARROW      final versions of union-updated policies; updates that drop
                rules without the union trick (podSelector/policyTypes changed)
  5 DELETE_BASELINE  deletions of policies with a direction without rules
  6 DELETE      deletions of policies with rules in every direction

Guarantee, for NetworkPolicy v1 objects, with pods and namespace labels fixed
during the apply: every connection allowed both before and after the apply is
allowed in every intermediate state (whatever the order inside a phase),
unless the plan carries a `warning`. Warnings are raised, from the selectors
alone (conservatively: "may overlap" unless provably disjoint), when
  (a) two policies arriving on the same pods and direction (created or
      re-selected), not already isolated there by a policy kept throughout,
      both carry rules in it, or the one with rules does not arrive in an
      earlier phase than the one without;
  (b) the same for policies leaving (deleted or re-selected), with "not
      isolated afterwards by a policy of the new revision", and the one with
      rules having to leave in a later phase;
  (c) in the NARROW phase, one update gains rules in a direction where another
      (possibly overlapping) update loses some. Re-selection counts: a policy
      gains its rules on the pods and directions it newly selects, and loses
      them on those it stops selecting.
The property test tests/unit/apply/test_apply_order_keeps_connections.py checks
this against the policy engine over generated revisions. Other kinds are
ordered (phase 2) but not covered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rollout.core import selectors
from rollout.core.changes import Action, Change, Phase, Step, Write
from rollout.core.objects import (
    HASH_ANNOTATION,
    NAMESPACE,
    NETWORK_POLICY,
    SPEC_HASH_ANNOTATION,
    ObjectKey,
    kind_of,
    normalize_network_policy_spec,
    stable_hash,
)

JSON = dict[str, Any]


def _directions(spec: Mapping[str, Any]) -> list[str]:
    return list(spec["policyTypes"])


def _rules(spec: Mapping[str, Any], direction: str) -> list[Any]:
    return list(spec["ingress" if direction == "Ingress" else "egress"])


def _has_rules(spec: Mapping[str, Any]) -> bool:
    return any(_rules(spec, d) for d in _directions(spec))


def _np_specs(change: Change) -> tuple[JSON | None, JSON | None]:
    old = normalize_network_policy_spec(change.live.get("spec")) if change.live else None
    new = change.desired.body["spec"] if change.desired else None
    return old, new


@dataclass
class _Survivor:
    namespace: str
    specs: list[JSON] = field(default_factory=list)
    key: ObjectKey | None = None

    def covers(self, namespace: str, selector: Mapping[str, Any], direction: str) -> bool:
        return self.namespace == namespace and all(
            direction in s["policyTypes"] and selectors.contains(s["podSelector"], selector)
            for s in self.specs
        )


def order_writes(changes: list[Change], union_updates: bool) -> tuple[tuple[Step, ...], list[str]]:
    phases: dict[Phase, list[Write]] = {p: [] for p in Phase}
    policies = [
        c
        for c in changes
        if kind_of(c.desired.body if c.desired else c.live or {}) == NETWORK_POLICY
    ]
    policy_keys = {c.key for c in policies}
    # Policies present before and after, in each version they take.
    survivors = []
    for c in policies:
        if c.action in (Action.UPDATE, Action.UNCHANGED):
            old, new = _np_specs(c)
            specs = [s for s in (old, new) if s is not None]
            survivors.append(_Survivor(c.key.namespace, specs, c.key))
    # Policies of the new revision (for deletions: who still isolates afterwards).
    finals = [
        _Survivor(c.key.namespace, [_np_specs(c)[1] or {}], c.key)
        for c in policies
        if c.action is not Action.DELETE
    ]
    arrivals: list[tuple[Change, JSON, Phase]] = []  # policies that start selecting pods
    departures: list[tuple[Change, JSON, Phase]] = []  # policies that stop selecting pods
    for change in changes:
        if change.action is Action.UNCHANGED:
            continue
        if change.action is Action.DELETE:
            phase = Phase.DELETE
            if change.key in policy_keys:
                old, _ = _np_specs(change)
                assert old is not None
                if any(not _rules(old, d) for d in _directions(old)):
                    phase = Phase.DELETE_BASELINE
                departures.append((change, old, phase))
            phases[phase].append(Write(change, None))
            continue
        assert change.desired is not None
        body = change.desired.body
        kind = kind_of(body)
        if kind == NAMESPACE:
            phases[Phase.NAMESPACES].append(Write(change, body))
        elif kind != NETWORK_POLICY:
            phases[Phase.ISOLATE].append(Write(change, body))
        elif change.action is Action.CREATE:
            phase = _isolation_phase(change.key, body["spec"], survivors)
            arrivals.append((change, body["spec"], phase))
            phases[phase].append(Write(change, body))
        else:
            reshaped = _order_update(change, phases, union_updates, survivors)
            if reshaped is not None:
                old, new = _np_specs(change)
                assert old is not None and new is not None
                arrivals.append((change, new, reshaped))
                departures.append((change, old, reshaped))
    # Within a phase, creates before updates (ISOLATE: new allows before re-selections).
    for phase in phases:
        phases[phase].sort(key=lambda w: (w.change.action is not Action.CREATE, w.change.key))
    warnings = _overlap_warnings(arrivals, survivors, arriving=True)
    warnings += _overlap_warnings(departures, finals, arriving=False)
    warnings += _narrow_phase_warnings(phases[Phase.NARROW], phases[Phase.WIDEN])
    steps = tuple(Step(p, tuple(ws)) for p, ws in sorted(phases.items()) if ws)
    return steps, warnings


def _isolation_phase(key: ObjectKey, spec: Mapping[str, Any], survivors: list[_Survivor]) -> Phase:
    """WIDEN if every direction's pods are already isolated by a survivor; else
    BASELINE if some newly isolated direction has no rules (it only denies there);
    else ISOLATE."""
    phase = Phase.WIDEN
    for d in _directions(spec):
        if any(s.key != key and s.covers(key.namespace, spec["podSelector"], d) for s in survivors):
            continue
        if not _rules(spec, d):
            return Phase.BASELINE
        phase = Phase.ISOLATE
    return phase


def _order_update(
    change: Change,
    phases: dict[Phase, list[Write]],
    union_updates: bool,
    survivors: list[_Survivor],
) -> Phase | None:
    """Place an update; the phase when it changes podSelector/policyTypes, else None."""
    assert change.desired is not None
    body = change.desired.body
    old, new = _np_specs(change)
    assert old is not None and new is not None
    same_shape = (
        old["podSelector"] == new["podSelector"] and old["policyTypes"] == new["policyTypes"]
    )
    if not same_shape:
        keeps_all = (
            selectors.contains(new["podSelector"], old["podSelector"])
            and set(old["policyTypes"]) <= set(new["policyTypes"])
            and all(r in _rules(new, d) for d in _directions(old) for r in _rules(old, d))
        )
        # Only adds pods/directions: place it like a creation. Otherwise some pods
        # lose its rules: only after every arrival, like a narrowing.
        phase = (
            max(Phase.ISOLATE, _isolation_phase(change.key, new, survivors))
            if keeps_all
            else Phase.NARROW
        )
        phases[phase].append(Write(change, body))
        return phase
    keeps_old_rules = all(
        all(rule in _rules(new, d) for rule in _rules(old, d)) for d in ("Ingress", "Egress")
    )
    if keeps_old_rules or not union_updates:
        phases[Phase.WIDEN if keeps_old_rules else Phase.NARROW].append(Write(change, body))
        return None
    union = dict(new)
    for key, direction in (("ingress", "Ingress"), ("egress", "Egress")):
        merged = list(_rules(old, direction))
        merged += [r for r in _rules(new, direction) if r not in merged]
        union[key] = merged
    interim = {**body, "spec": union}
    meta = dict(body["metadata"])
    # An interim object must never look "unchanged" to the next run.
    meta["annotations"] = {
        **meta["annotations"],
        HASH_ANNOTATION: "interim",
        SPEC_HASH_ANNOTATION: stable_hash(union),
    }
    interim["metadata"] = meta
    phases[Phase.WIDEN].append(Write(change, interim, interim=True))
    phases[Phase.NARROW].append(Write(change, body))
    return None


def _overlap_warnings(
    group: list[tuple[Change, JSON, Phase]], others: list[_Survivor], *, arriving: bool
) -> list[str]:
    """Pairs whose writes can deny a kept connection in between (see module doc).

    For pods not provably isolated (in direction d) by `others` throughout, two
    policies arriving (or leaving) in d are safe only when at most one has rules
    in d and it arrives strictly before (leaves strictly after) the other.
    """
    warnings = []
    verb = "created or re-selected" if arriving else "deleted or re-selected"

    def uncovered(change: Change, spec: JSON, d: str) -> bool:
        return not any(
            o.key != change.key and o.covers(change.key.namespace, spec["podSelector"], d)
            for o in others
        )

    for i, (a, sa, pa) in enumerate(group):
        for b, sb, pb in group[i + 1 :]:
            if a.key.namespace != b.key.namespace or a.key == b.key:
                continue
            if selectors.disjoint(sa["podSelector"], sb["podSelector"]):
                continue
            for d in sorted(set(_directions(sa)) & set(_directions(sb))):
                ra, rb = bool(_rules(sa, d)), bool(_rules(sb, d))
                if not (ra or rb) or not (uncovered(a, sa, d) and uncovered(b, sb, d)):
                    continue
                if ra != rb:
                    ruled, other = (pa, pb) if ra else (pb, pa)
                    if (ruled < other) if arriving else (ruled > other):
                        continue
                warnings.append(
                    f"{a.key} and {b.key} are both {verb} and may select the same pods "
                    f"({d}); between the two writes a connection allowed by only one of "
                    "them can be denied briefly. Split the change over two revisions to avoid it."
                )
    return warnings


def _allowance_changes(old: JSON, new: JSON) -> tuple[set[str], set[str]]:
    """(directions where some pod gains a rule when `old` becomes `new`, where some pod loses one).

    Pods that `new` newly selects (or a direction it newly isolates) gain every
    rule it has there, like a creation; pods it stops selecting lose every rule
    `old` had, like a deletion. Conservative: "newly" unless provably not.
    """
    gains, losses = set(), set()
    for d in ("Ingress", "Egress"):
        old_rules = _rules(old, d) if d in old["policyTypes"] else []
        new_rules = _rules(new, d) if d in new["policyTypes"] else []
        if new_rules and (
            d not in old["policyTypes"]
            or not selectors.contains(old["podSelector"], new["podSelector"])
            or any(r not in old_rules for r in new_rules)
        ):
            gains.add(d)
        if old_rules and (
            d not in new["policyTypes"]
            or not selectors.contains(new["podSelector"], old["podSelector"])
            or any(r not in new_rules for r in old_rules)
        ):
            losses.add(d)
    return gains, losses


def _narrow_phase_warnings(narrow: list[Write], widen: list[Write]) -> list[str]:
    """NARROW writes that add rules (re-selecting updates) race with those that drop them.

    A union-updated policy enters NARROW as its interim (WIDEN) version, so that is
    what its final version is compared with.
    """
    interims = {w.change.key: w.body["spec"] for w in widen if w.interim and w.body is not None}
    specs = []
    for w in narrow:
        old, new = _np_specs(w.change)
        if old is None or new is None:
            continue
        before = interims.get(w.change.key, old)
        specs.append((w.change, before, new, *_allowance_changes(before, new)))
    warnings = []
    for g, _, g_new, gains, _ in specs:
        for lo, l_old, _, _, losses in specs:
            if lo.key == g.key or lo.key.namespace != g.key.namespace:
                continue
            common = sorted(gains & losses)
            if common and not selectors.disjoint(g_new["podSelector"], l_old["podSelector"]):
                warnings.append(
                    f"{g.key} gains rules ({', '.join(common)}) that {lo.key} loses, in the "
                    "same step; a connection moving from one to the other can be denied "
                    "briefly. Split the change over two revisions to avoid it."
                )
    return warnings
