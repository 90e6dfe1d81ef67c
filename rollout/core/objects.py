"""Manifests, object identity, the body we apply and the view we compare (PURE).

The orchestrator owns a small, fixed part of every object it applies:

* NetworkPolicy (networking.k8s.io/v1): the whole `spec`, normalised so that
  the server's defaults (`policyTypes`, port `protocol: TCP`, empty lists)
  never look like a change, and written out in full (`ingress: []`,
  `egress: []`, explicit `policyTypes`) so a forced server-side apply also
  takes back fields someone added by hand (all three lists are atomic).
* Namespace: `metadata.labels` only (the "labels only" rule); never deleted.
* any other allowed kind (AdminNetworkPolicy, CiliumNetworkPolicy, Calico...):
  `spec` as written; compared as "every desired field has this value live".

Plus, on every object, the label `app.kubernetes.io/managed-by: netpol-rollout`
and the annotations below. The content hash excludes the commit sha, so a new
commit that leaves an object unchanged causes no write.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

FIELD_MANAGER = "netpol-rollout"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "netpol-rollout"
ANNOTATION_PREFIX = "netpol-rollout.io/"
ENV_ANNOTATION = ANNOTATION_PREFIX + "environment"
SHA_ANNOTATION = ANNOTATION_PREFIX + "commit-sha"
SOURCE_ANNOTATION = ANNOTATION_PREFIX + "source-path"
HASH_ANNOTATION = ANNOTATION_PREFIX + "content-hash"
SPEC_HASH_ANNOTATION = ANNOTATION_PREFIX + "spec-hash"
# Not part of the content hash: the commit that last wrote the object, and the hashes.
_UNHASHED = {SHA_ANNOTATION, HASH_ANNOTATION, SPEC_HASH_ANNOTATION}

NETWORK_POLICY = ("networking.k8s.io", "NetworkPolicy")
NAMESPACE = ("", "Namespace")

JSON = dict[str, Any]


@dataclass(frozen=True, order=True)
class ObjectKey:
    """Identity of an object: API group, kind, namespace ("" if cluster-scoped), name."""

    group: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.namespace or '-'}/{self.name}"


@dataclass(frozen=True)
class Manifest:
    """One rendered object and where it came from (file relative to the repo, line)."""

    obj: Mapping[str, Any]
    source: str | None = None
    line: int | None = None

    @property
    def key(self) -> ObjectKey:
        return key_of(self.obj)

    def where(self) -> str:
        if self.source is None:
            return "(unknown source)"
        return f"{self.source}:{self.line}" if self.line else self.source


@dataclass(frozen=True)
class DesiredObject:
    """What we send for one manifest: the apply body and the hashes inside it."""

    manifest: Manifest
    body: JSON
    content_hash: str
    spec_hash: str
    key: ObjectKey = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", key_of(self.body))


def api_group(api_version: str) -> str:
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def key_of(obj: Mapping[str, Any]) -> ObjectKey:
    meta = obj.get("metadata") or {}
    return ObjectKey(
        group=api_group(str(obj.get("apiVersion", ""))),
        kind=str(obj.get("kind", "")),
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name", "")),
    )


def kind_of(obj: Mapping[str, Any]) -> tuple[str, str]:
    key = key_of(obj)
    return key.group, key.kind


def stable_hash(value: Any) -> str:
    data = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(data.encode()).hexdigest()[:32]


# --- NetworkPolicy normalisation ------------------------------------------------


def _clean_selector(selector: Any) -> JSON:
    selector = dict(selector or {})
    out: JSON = {}
    if selector.get("matchLabels"):
        out["matchLabels"] = dict(selector["matchLabels"])
    if selector.get("matchExpressions"):
        exprs = []
        for expr in selector["matchExpressions"]:
            item = {"key": expr.get("key"), "operator": expr.get("operator")}
            if expr.get("values"):
                item["values"] = list(expr["values"])
            exprs.append(item)
        out["matchExpressions"] = exprs
    return out


def _clean_peer(peer: Mapping[str, Any]) -> JSON:
    out: JSON = {}
    for name in ("podSelector", "namespaceSelector"):
        if name in peer and peer[name] is not None:
            out[name] = _clean_selector(peer[name])
    if peer.get("ipBlock") is not None:
        block = {"cidr": peer["ipBlock"].get("cidr")}
        if peer["ipBlock"].get("except"):
            block["except"] = list(peer["ipBlock"]["except"])
        out["ipBlock"] = block
    return out


def _clean_port(port: Mapping[str, Any]) -> JSON:
    out: JSON = {"protocol": port.get("protocol") or "TCP"}
    if port.get("port") is not None:
        out["port"] = port["port"]
    if port.get("endPort") is not None:
        out["endPort"] = port["endPort"]
    return out


def _clean_rule(rule: Mapping[str, Any], peers_key: str) -> JSON:
    out: JSON = {}
    if rule.get("ports"):
        out["ports"] = [_clean_port(p) for p in rule["ports"]]
    if rule.get(peers_key):
        out[peers_key] = [_clean_peer(p) for p in rule[peers_key]]
    return out


def normalize_network_policy_spec(spec: Mapping[str, Any] | None) -> JSON:
    """The spec as the apiserver stores it (defaults made explicit, empties uniform)."""
    spec = dict(spec or {})
    ingress = [_clean_rule(r or {}, "from") for r in spec.get("ingress") or []]
    egress = [_clean_rule(r or {}, "to") for r in spec.get("egress") or []]
    types = spec.get("policyTypes")
    if not types:
        types = ["Ingress", *(["Egress"] if egress else [])]
    ordered = [t for t in ("Ingress", "Egress") if t in types]
    ordered += sorted(t for t in types if t not in ("Ingress", "Egress"))
    return {
        "podSelector": _clean_selector(spec.get("podSelector")),
        "policyTypes": ordered,
        "ingress": ingress,
        "egress": egress,
    }


def normalized_spec(obj: Mapping[str, Any]) -> Any:
    """The part of `spec` we own, in comparable form (None for Namespaces)."""
    kind = kind_of(obj)
    if kind == NAMESPACE:
        return None
    if kind == NETWORK_POLICY:
        return normalize_network_policy_spec(obj.get("spec"))
    return obj.get("spec")


# --- the body we apply and the view we compare ------------------------------------


def desired_object(manifest: Manifest, *, environment: str, commit_sha: str) -> DesiredObject:
    """The server-side-apply body for `manifest`, with our label and annotations."""
    obj = manifest.obj
    meta = obj.get("metadata") or {}
    labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
    labels[MANAGED_BY_LABEL] = MANAGED_BY_VALUE
    annotations: dict[str, str] = {}
    if kind_of(obj) != NAMESPACE:
        annotations = {str(k): str(v) for k, v in (meta.get("annotations") or {}).items()}
    annotations[ENV_ANNOTATION] = environment
    if manifest.source:
        annotations[SOURCE_ANNOTATION] = manifest.source
    new_meta: JSON = {"name": meta.get("name"), "labels": labels, "annotations": annotations}
    if meta.get("namespace"):
        new_meta["namespace"] = meta["namespace"]
    body: JSON = {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "metadata": new_meta,
    }
    spec = normalized_spec(obj)
    if spec is not None:
        body["spec"] = spec
    view = comparable_view(body, labels, annotations)
    content_hash = stable_hash(view)
    spec_hash = stable_hash(spec)
    annotations[HASH_ANNOTATION] = content_hash
    annotations[SPEC_HASH_ANNOTATION] = spec_hash
    annotations[SHA_ANNOTATION] = commit_sha
    return DesiredObject(manifest, body, content_hash, spec_hash)


def comparable_view(
    obj: Mapping[str, Any], label_keys: Mapping[str, Any], annotation_keys: Mapping[str, Any]
) -> JSON:
    """`obj` restricted to what we own: the labels/annotations named, and the spec."""
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    return {
        "labels": {k: labels.get(k) for k in sorted(label_keys)},
        "annotations": {
            k: annotations.get(k) for k in sorted(annotation_keys) if k not in _UNHASHED
        },
        "spec": normalized_spec(obj),
    }


def live_view_for(desired: DesiredObject, live: Mapping[str, Any]) -> JSON:
    """The live object's view over the same keys the desired object owns."""
    meta = desired.body["metadata"]
    view = comparable_view(live, meta["labels"], meta["annotations"])
    if desired.body.get("spec") is not None and kind_of(desired.body) != NETWORK_POLICY:
        view["spec"] = _project(desired.body["spec"], (live.get("spec") or {}))
    return view


def _project(desired: Any, live: Any) -> Any:
    """`live` cut down to the shape of `desired` (for kinds whose defaults we don't know)."""
    if isinstance(desired, Mapping) and isinstance(live, Mapping):
        return {k: _project(v, live.get(k)) for k, v in desired.items()}
    if isinstance(desired, list) and isinstance(live, list) and len(desired) == len(live):
        return [_project(d, lv) for d, lv in zip(desired, live, strict=True)]
    return live


def is_managed_by_us(obj: Mapping[str, Any], environment: str | None = None) -> bool:
    """Carries our label (and, if given, was applied for `environment`)."""
    meta = obj.get("metadata") or {}
    if (meta.get("labels") or {}).get(MANAGED_BY_LABEL) != MANAGED_BY_VALUE:
        return False
    if environment is None:
        return True
    return (meta.get("annotations") or {}).get(ENV_ANNOTATION) == environment


def set_content_hash(desired: list[DesiredObject]) -> str:
    """One hash of the whole applied set (order-independent, sha-independent)."""
    return stable_hash(sorted((str(d.key), d.content_hash) for d in desired))
