"""Static checks of a rendered revision before anything touches a cluster (PURE).

Each problem names the object (`kind/namespace/name`) and its source file. The
server-side dry run that follows lives in the kube adapter; parse errors (file
and line) are raised by the renderer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rollout.core.objects import NAMESPACE, Manifest, key_of
from rollout.errors import ValidationError

# Kinds an environment may enable, by kind name -> API group (for the message).
KNOWN_POLICY_KINDS = {
    "NetworkPolicy": "networking.k8s.io",
    "Namespace": "",
    "AdminNetworkPolicy": "policy.networking.k8s.io",
    "BaselineAdminNetworkPolicy": "policy.networking.k8s.io",
    "CiliumNetworkPolicy": "cilium.io",
    "CiliumClusterwideNetworkPolicy": "cilium.io",
    "GlobalNetworkPolicy": "crd.projectcalico.org",
    "GlobalNetworkSet": "crd.projectcalico.org",
    "NetworkSet": "crd.projectcalico.org",
}
# Cluster-scoped policy kinds: they have no namespace to check against.
CLUSTER_SCOPED_KINDS = {
    "Namespace",
    "AdminNetworkPolicy",
    "BaselineAdminNetworkPolicy",
    "CiliumClusterwideNetworkPolicy",
    "GlobalNetworkPolicy",
    "GlobalNetworkSet",
}


@dataclass(frozen=True)
class Problem:
    """One validation finding: the object, its source, and what is wrong."""

    subject: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.subject} ({self.where}): {self.message}"


def check_manifests(
    manifests: Sequence[Manifest],
    *,
    allowed_kinds: Iterable[str],
    namespaces: Iterable[str],
) -> list[Problem]:
    """Every static problem of the set, in source order (empty when valid)."""
    allowed = set(allowed_kinds)
    managed = set(namespaces)
    problems: list[Problem] = []
    seen: dict[object, Manifest] = {}
    for manifest in manifests:
        obj = manifest.obj
        subject = _subject(manifest)
        missing = _missing_fields(obj)
        if missing:
            problems.append(Problem(subject, manifest.where(), f"missing {', '.join(missing)}"))
            continue
        key = key_of(obj)
        if key in seen:
            problems.append(
                Problem(
                    str(key),
                    manifest.where(),
                    f"duplicate object (also defined in {seen[key].where()})",
                )
            )
            continue
        seen[key] = manifest
        kind = key.kind
        if kind not in allowed:
            problems.append(
                Problem(
                    str(key),
                    manifest.where(),
                    f"kind {kind} is not allowed in this environment "
                    f"(allowed: {', '.join(sorted(allowed))}); "
                    "netpol-rollout only applies network policy objects",
                )
            )
            continue
        problems.extend(_check_scope(manifest, managed))
    return problems


def require_valid(problems: Sequence[Problem], *, what: str) -> None:
    """Raise ValidationError listing every problem, if there are any."""
    if problems:
        count = len(problems)
        raise ValidationError(
            f"{what} is not valid ({count} problem{'s' if count != 1 else ''})",
            details=[str(p) for p in problems],
        )


def _subject(manifest: Manifest) -> str:
    obj = manifest.obj
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    kind = obj.get("kind") or "?"
    namespace = (meta or {}).get("namespace") or "-"
    name = (meta or {}).get("name") or "?"
    return f"{kind}/{namespace}/{name}"


def _missing_fields(obj: object) -> list[str]:
    if not isinstance(obj, dict):
        return ["apiVersion", "kind", "metadata.name (not a mapping)"]
    missing = [f for f in ("apiVersion", "kind") if not isinstance(obj.get(f), str) or not obj[f]]
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
        missing.append("metadata.name")
    return missing


def _check_scope(manifest: Manifest, managed: set[str]) -> list[Problem]:
    key = key_of(manifest.obj)
    if key.kind == NAMESPACE[1]:
        if key.name not in managed:
            return [
                Problem(
                    str(key),
                    manifest.where(),
                    f"namespace {key.name} is not managed by this environment "
                    f"(managed: {', '.join(sorted(managed))})",
                )
            ]
        return _namespace_labels_only(manifest)
    if key.kind in CLUSTER_SCOPED_KINDS:
        return []
    if not key.namespace:
        return [
            Problem(
                str(key),
                manifest.where(),
                "metadata.namespace is required (the overlay must set it)",
            )
        ]
    if key.namespace not in managed:
        return [
            Problem(
                str(key),
                manifest.where(),
                f"namespace {key.namespace} is not managed by this environment "
                f"(managed: {', '.join(sorted(managed))})",
            )
        ]
    return []


def _namespace_labels_only(manifest: Manifest) -> list[Problem]:
    obj = manifest.obj
    extra = sorted(k for k in obj if k not in ("apiVersion", "kind", "metadata", "spec", "status"))
    meta_extra = sorted(
        k for k in obj.get("metadata", {}) if k not in ("name", "labels", "annotations")
    )
    if extra or meta_extra or obj.get("spec"):
        fields = [
            *extra,
            *(f"metadata.{k}" for k in meta_extra),
            *(["spec"] if obj.get("spec") else []),
        ]
        return [
            Problem(
                str(key_of(obj)),
                manifest.where(),
                f"Namespace objects may only set labels; remove {', '.join(fields)}",
            )
        ]
    return []
