"""Would the apiserver accept this object? The rules it applies, offline. PURE.

`rollout validate --offline` and the service's static checks call
`object_problems` on every rendered object, so a policy the apiserver (or
`rollout policy lint`) would refuse never passes validation: the same model
parser as lint (port ranges, protocols, named ports, endPort, CIDRs, peers,
selector operators, policyTypes, required fields) plus the formats the
apiserver checks that the analysis does not need (names, label keys and
values, annotation keys, ipBlock `except` strictly inside `cidr`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from typing import Any

from rollout.errors import PolicyError
from rollout.policy.model import load_cluster

__all__ = ["object_problems"]

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_CHARS = "at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric"


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _dns_label(value: str) -> bool:
    return len(value) <= 63 and bool(_DNS_LABEL.match(value))


def object_problems(obj: Mapping[str, Any]) -> list[str]:
    """What the apiserver would refuse in `obj` (a NetworkPolicy or Namespace), as
    `field: what is wrong` messages; [] when it is valid or another kind."""
    kind = obj.get("kind")
    if kind not in ("NetworkPolicy", "Namespace"):
        return []
    meta = _meta(obj)
    problems = list(_metadata(meta, namespaced=kind == "NetworkPolicy"))
    if kind == "NetworkPolicy":
        problems += _model(obj)
        spec = obj.get("spec")
        if isinstance(spec, Mapping):
            problems += _selectors(spec)
            problems += _excepts(spec)
    return problems


def _metadata(meta: Mapping[str, Any], *, namespaced: bool) -> Iterator[str]:
    name = meta.get("name")
    if isinstance(name, str) and name:
        pattern, limit, what = (
            (_DNS_SUBDOMAIN, 253, "a DNS subdomain")
            if namespaced
            else (_DNS_LABEL, 63, "a DNS label")
        )
        if len(name) > limit or not pattern.match(name):
            yield (
                f"metadata.name: {name!r} is not {what} (lowercase letters, digits and '-', "
                f"at most {limit} characters)"
            )
    namespace = meta.get("namespace")
    if namespaced and isinstance(namespace, str) and namespace and not _dns_label(namespace):
        yield f"metadata.namespace: {namespace!r} is not a DNS label"
    yield from _label_map(meta.get("labels"), "metadata.labels")
    annotations = meta.get("annotations")
    if isinstance(annotations, Mapping):
        for key in annotations:
            if not _qualified_name(str(key)):
                yield f"metadata.annotations: key {key!r} is not a qualified name"


def _model(obj: Mapping[str, Any]) -> list[str]:
    """The policy model's own checks: exactly what `rollout policy lint` refuses."""
    try:
        load_cluster([dict(obj)])
    except PolicyError as exc:
        message = exc.message
        meta = _meta(obj)
        prefix = f"NetworkPolicy/{meta.get('namespace')}/{meta.get('name')}: "
        return [message.removeprefix(prefix)]
    return []


def _selectors(spec: Mapping[str, Any]) -> Iterator[str]:
    yield from _selector(spec.get("podSelector"), "spec.podSelector")
    for direction, key in (("ingress", "from"), ("egress", "to")):
        rules = spec.get(direction)
        if not isinstance(rules, list):
            continue
        for i, rule in enumerate(rules):
            peers = rule.get(key) if isinstance(rule, Mapping) else None
            if not isinstance(peers, list):
                continue
            for j, peer in enumerate(peers):
                if not isinstance(peer, Mapping):
                    continue
                for field in ("podSelector", "namespaceSelector"):
                    where = f"spec.{direction}[{i}].{key}[{j}].{field}"
                    yield from _selector(peer.get(field), where)


def _selector(selector: Any, where: str) -> Iterator[str]:
    if not isinstance(selector, Mapping):
        return
    yield from _label_map(selector.get("matchLabels"), f"{where}.matchLabels")
    expressions = selector.get("matchExpressions")
    if not isinstance(expressions, list):
        return
    for i, expression in enumerate(expressions):
        if not isinstance(expression, Mapping):
            continue
        key = expression.get("key")
        if isinstance(key, str) and not _qualified_name(key):
            yield f"{where}.matchExpressions[{i}].key: {key!r} is not a qualified name"
        values = expression.get("values")
        for value in values if isinstance(values, list) else ():
            if isinstance(value, str) and not _label_value(value):
                yield f"{where}.matchExpressions[{i}].values: {value!r} is not a label value"


def _label_map(labels: Any, where: str) -> Iterator[str]:
    if not isinstance(labels, Mapping):
        return
    for key, value in labels.items():
        if not _qualified_name(str(key)):
            yield f"{where}: key {key!r} is not a qualified name ([prefix/]name, {_CHARS})"
        if not isinstance(value, str) or not _label_value(value):
            yield f"{where}.{key}: {value!r} is not a label value ({_CHARS})"


def _excepts(spec: Mapping[str, Any]) -> Iterator[str]:
    for direction, key in (("ingress", "from"), ("egress", "to")):
        rules = spec.get(direction)
        for i, rule in enumerate(rules if isinstance(rules, list) else ()):
            peers = rule.get(key) if isinstance(rule, Mapping) else None
            for j, peer in enumerate(peers if isinstance(peers, list) else ()):
                block = peer.get("ipBlock") if isinstance(peer, Mapping) else None
                if not isinstance(block, Mapping):
                    continue
                try:
                    cidr = ipaddress.ip_network(str(block.get("cidr")), strict=False)
                except ValueError:
                    continue  # the model reports the cidr itself
                excepts = block.get("except")
                for k, raw in enumerate(excepts if isinstance(excepts, list) else ()):
                    where = f"spec.{direction}[{i}].{key}[{j}].ipBlock.except[{k}]"
                    try:
                        ex = ipaddress.ip_network(str(raw), strict=False)
                    except ValueError:
                        yield f"{where}: {raw!r} is not a valid CIDR"
                        continue
                    inside = ex.version == cidr.version and ex.subnet_of(cidr)  # type: ignore[arg-type]
                    if not inside or ex.prefixlen <= cidr.prefixlen:
                        yield f"{where}: {raw} must be strictly inside cidr {block.get('cidr')}"


def _qualified_name(key: str) -> bool:
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return False
    return 0 < len(name) <= 63 and bool(_NAME_PART.match(name))


def _label_value(value: str) -> bool:
    return value == "" or (len(value) <= 63 and bool(_NAME_PART.match(value)))
