"""The demo's wording: stored records (events, diffs, smoke entries, payloads) in words.

No Python reprs and no content hashes; ports as `TCP 9090`, as `policy diff`,
the PR comment, the dashboard and the digest write them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from rollout.store.records import StageEvent


def port_text(c: Mapping[str, Any]) -> str:
    """`TCP 9090` (or a range, `TCP 8447-8450`, or `TCP all`), as `policy diff` writes them."""
    protocol = str(c.get("protocol") or "TCP")
    ports = c.get("ports")
    if ports in (None, ""):
        ports = c.get("port") if c.get("port") not in (None, "") else "all"
    return f"{protocol} {ports}"


def event_text(event: StageEvent) -> str:
    """An audit event in words: no reprs, no content hashes."""
    d = event.details
    why = d.get("reason") or d.get("summary") or d.get("why") or ""
    if event.kind == "rollout.created":
        text = f"created at stage {d.get('state', '')} for {str(d.get('commit_sha', ''))[:12]}"
        previous = d.get("previous_sha")
        return text + (f" (after {str(previous)[:12]})" if previous else "")
    if event.kind == "state.changed":
        return f"{d.get('from')} → {d.get('to')}" + (f": {why}" if why else "")
    if event.kind == "approval.granted":
        return f"approved {str(d.get('commit_sha', ''))[:12]}".rstrip()
    if event.kind == "rollback":
        to = d.get("to")
        target = f"to {str(to)[:12]}" if to else "to nothing"
        return f"rolled back {target}" + ("" if d.get("ok", True) else " FAILED")
    return event.kind + (f": {why}" if why else "")


def counted(lines: Sequence[str]) -> list[tuple[str, int]]:
    """Lines in order, a repeated one once with how often it occurs."""
    counts: dict[str, int] = {}
    for line in lines:
        counts[line] = counts.get(line, 0) + 1
    return list(counts.items())


def changed_words(lines: Sequence[str]) -> list[tuple[str, str]]:
    """Words that a `- old` / `+ new` pair of changed lines swapped, each pair once:
    `[("backend", "backnd")]` for a typo."""
    removed = [line[2:] for line in lines if line.startswith("- ")]
    added = [line[2:] for line in lines if line.startswith("+ ")]
    found: list[tuple[str, str]] = []
    for old, new in zip(removed, added, strict=False):
        before, after = re.findall(r"[\w.-]+", old), re.findall(r"[\w.-]+", new)
        if len(before) != len(after):
            continue
        for a, b in zip(before, after, strict=True):
            if a != b and (a, b) not in found:
                found.append((a, b))
    return found


def checks_of(entry: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The check results of a stored smoke entry (`{"ok", "summary", "report"}`)."""
    report = entry.get("report")
    results = report.get("results") if isinstance(report, Mapping) else None
    # Live checks only: the static pre-check's rows are reported apart, not counted.
    return [r for r in results or () if isinstance(r, Mapping) and r.get("kind") != "precheck"]


def connections(value: Any) -> list[dict[str, Any]]:
    """Connections of a stored diff: a list of dicts (or of "+ a -> b" lines)."""
    out: list[dict[str, Any]] = []
    for c in value if isinstance(value, list) else ():
        if isinstance(c, Mapping):
            out.append(
                {
                    "from": str(c.get("from", "")),
                    "to": str(c.get("to", "")),
                    "port": port_text(c),
                    "policies": [
                        str(p).removeprefix("NetworkPolicy/") for p in c.get("policies") or ()
                    ],
                }
            )
        else:
            out.append({"from": str(c), "to": "", "port": "", "policies": []})
    return out


def payload_summary(payload: Mapping[str, Any]) -> str:
    """What a notification says, in a few words (its `reason`, smoke and diff counts)."""
    parts = []
    if payload.get("reason"):
        parts.append(str(payload["reason"]).split("; failing:", 1)[0])
    diff = payload.get("diff")
    if isinstance(diff, Mapping) and not parts:
        parts.append(f"diff: {diff.get('opened', 0)} opened, {diff.get('closed', 0)} closed")
    actor = payload.get("actor")
    if actor and not any(str(actor) in part for part in parts):
        parts.append(f"by {actor}")
    return "; ".join(parts)
