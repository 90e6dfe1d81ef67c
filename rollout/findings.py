"""One lint finding: the single record every channel reads. PURE: stdlib only.

`rollout.policy.lint` produces these; the service stores them (`to_json`)
with the rollout, the API returns that JSON, the dashboard, Slack, the
digest and the CLI read them back (`from_json`). One type, one set of field
names, so no channel can look for a key another never writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["LintFinding", "findings_from_json", "findings_to_json"]


@dataclass(frozen=True, slots=True, order=True)
class LintFinding:
    """A rule (`id`, e.g. NP003) that holds for one object, and where it came from."""

    object: str
    """`NetworkPolicy/<namespace>/<name>` or `Namespace/<name>`."""
    id: str
    severity: str
    """`error`, `warning` or `info`."""
    message: str
    path: str = ""
    """The field inside the object (`spec.egress[0].ports[1]`), if any."""
    origin: str = ""
    """Where the object was read from (`file.yaml:12`), if known."""
    related: tuple[str, ...] = ()
    """Other objects whose lint-ignore annotation also silences this finding."""
    environments: tuple[str, ...] = ()
    """The environments it holds in, when it holds in only some (the digest); () = all."""

    def to_json(self) -> dict[str, Any]:
        """The stored and published form (every key present)."""
        return {
            "id": self.id,
            "severity": self.severity,
            "object": self.object,
            "message": self.message,
            "path": self.path,
            "origin": self.origin,
            "related": list(self.related),
            "environments": list(self.environments),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LintFinding:
        """The record from `to_json` output (older rows: `code`/`location`)."""
        return cls(
            object=str(data.get("object", data.get("location", "")) or ""),
            id=str(data.get("id", data.get("code", "")) or ""),
            severity=str(data.get("severity", "") or ""),
            message=str(data.get("message", "") or ""),
            path=str(data.get("path", "") or ""),
            origin=str(data.get("origin", "") or ""),
            related=tuple(str(r) for r in data.get("related", ()) or ()),
            environments=tuple(str(e) for e in data.get("environments", ()) or ()),
        )


def findings_to_json(findings: Iterable[LintFinding]) -> dict[str, Any]:
    """`{"findings": [...]}`, the shape stored as a rollout's lint artifact."""
    return {"findings": [f.to_json() for f in findings]}


def findings_from_json(data: Any) -> tuple[LintFinding, ...]:
    """The findings of a stored lint artifact; () when there is none or it is not one."""
    items = data.get("findings") if isinstance(data, Mapping) else None
    if not isinstance(items, list):
        return ()
    return tuple(LintFinding.from_json(f) for f in items if isinstance(f, Mapping))
