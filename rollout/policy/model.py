"""The cluster as the engine sees it: frozen dataclasses parsed from plain dicts.

`load_cluster` turns parsed manifests (Namespaces, Pods, workloads with pod
templates, Services, NetworkPolicies, `List` objects) into a `ClusterModel`.
Every malformed field raises `PolicyError` naming `Kind/namespace/name` and
the field path. Objects of other kinds are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rollout.errors import PolicyError
from rollout.policy.fields import (
    check_kind,
    mapping,
    optional_str,
    sequence,
    shown,
    str_map,
    type_name,
)
from rollout.policy.ipset import IPBlock, check_address, parse_ip_block, parse_network
from rollout.policy.portset import ContainerPort, PortSpec, parse_port_spec, parse_protocol
from rollout.policy.selectors import LabelSelector, parse_selector

NAME_LABEL = "kubernetes.io/metadata.name"
LINT_IGNORE_ANNOTATION = "netpol-rollout.io/lint-ignore"
MANAGED_LABEL = "netpol-rollout.io/managed"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")
EXTERNAL_KIND = "External"


@dataclass(frozen=True, eq=False)
class Namespace:
    name: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str] = field(default_factory=dict)
    declared: bool = True  # False when only implied by an object living in it
    origin: str = ""


@dataclass(frozen=True, eq=False)
class Endpoint:
    """A Pod, the pod template of a workload, or an external address (CIDR)."""

    namespace: str  # "" for external addresses
    name: str  # the CIDR for external addresses
    kind: str
    labels: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[ContainerPort, ...] = ()
    ips: tuple[str, ...] = ()
    host_network: bool = False
    annotations: Mapping[str, str] = field(default_factory=dict)
    origin: str = ""
    owner: tuple[str, str] | None = None  # (kind, name) of the controlling ownerReference

    @property
    def key(self) -> str:
        return self.name if self.is_external else f"{self.namespace}/{self.name}"

    @property
    def is_external(self) -> bool:
        return self.kind == EXTERNAL_KIND


@dataclass(frozen=True, slots=True)
class ServicePort:
    port: int
    protocol: str
    target_port: int | str
    name: str | None = None


@dataclass(frozen=True, eq=False)
class Service:
    namespace: str
    name: str
    selector: Mapping[str, str] | None
    ports: tuple[ServicePort, ...]
    cluster_ips: tuple[str, ...] = ()
    origin: str = ""


@dataclass(frozen=True, slots=True)
class Peer:
    """One element of `from`/`to`. Selectors in one element are ANDed."""

    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    ip_block: IPBlock | None = None

    def describe(self) -> str:
        if self.ip_block is not None:
            return f"ipBlock {self.ip_block.describe()}"
        parts = []
        if self.namespace_selector is not None:
            parts.append(f"namespaces [{self.namespace_selector.describe()}]")
        if self.pod_selector is not None:
            parts.append(f"pods [{self.pod_selector.describe()}]")
        if self.namespace_selector is None:
            parts.append("in the policy's namespace")
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Rule:
    """An ingress or egress rule; `peers`/`ports` None means all (field missing or empty)."""

    direction: str  # "ingress" | "egress"
    index: int
    peers: tuple[Peer, ...] | None
    ports: tuple[PortSpec, ...] | None

    @property
    def path(self) -> str:
        return f"spec.{self.direction}[{self.index}]"


@dataclass(frozen=True, eq=False)
class Policy:
    namespace: str
    name: str
    pod_selector: LabelSelector
    policy_types: frozenset[str]
    ingress: tuple[Rule, ...]
    egress: tuple[Rule, ...]
    annotations: Mapping[str, str] = field(default_factory=dict)
    origin: str = ""

    @property
    def ref(self) -> str:
        return f"NetworkPolicy/{self.namespace}/{self.name}"

    @property
    def affects_ingress(self) -> bool:
        return "Ingress" in self.policy_types

    @property
    def affects_egress(self) -> bool:
        return "Egress" in self.policy_types

    def rules(self, direction: str) -> tuple[Rule, ...]:
        if direction == "ingress":
            return self.ingress if self.affects_ingress else ()
        return self.egress if self.affects_egress else ()


@dataclass(frozen=True, eq=False)
class ClusterModel:
    namespaces: Mapping[str, Namespace]
    endpoints: tuple[Endpoint, ...]
    services: tuple[Service, ...]
    policies: tuple[Policy, ...]

    def endpoint(self, key: str) -> Endpoint:
        """The endpoint named `NS/NAME` (or an external CIDR). Raises PolicyError."""
        for ep in self.endpoints:
            if ep.key == key:
                return ep
        raise PolicyError(f"no endpoint {key!r} (expected NS/NAME of a pod or workload)")

    def service_backends(self, key: str, port: int, protocol: str) -> list[tuple[Endpoint, int]]:
        """The pods behind Service `NS/NAME` and the target port its `port` maps to.

        A named targetPort resolves per pod, so backends may differ in number.
        Raises PolicyError for an unknown Service or port.
        """
        namespace, _, name = key.partition("/")
        svc = next((s for s in self.services if (s.namespace, s.name) == (namespace, name)), None)
        if svc is None:
            raise PolicyError(f"no endpoint or Service {key!r}")
        sp = next((p for p in svc.ports if (p.port, p.protocol) == (port, protocol)), None)
        if sp is None:
            known = ", ".join(f"{p.port}/{p.protocol}" for p in svc.ports) or "none"
            raise PolicyError(f"Service/{key} has no port {port}/{protocol} (ports: {known})")
        out: list[tuple[Endpoint, int]] = []
        for ep in self.endpoints:
            if ep.namespace != namespace or svc.selector is None or not svc.selector:
                continue
            if any(ep.labels.get(k) != v for k, v in svc.selector.items()):
                continue
            if isinstance(sp.target_port, int):
                out.append((ep, sp.target_port))
            else:
                out.extend(
                    (ep, cp.port)
                    for cp in ep.ports
                    if cp.name == sp.target_port and cp.protocol == protocol
                )
        return out

    def has_endpoint(self, key: str) -> bool:
        return any(ep.key == key for ep in self.endpoints)

    @property
    def has_declared_namespaces(self) -> bool:
        return any(ns.declared for ns in self.namespaces.values())


def load_cluster(
    objects: Sequence[Mapping[str, Any]],
    *,
    origins: Sequence[str] | None = None,
    externals: Iterable[str] = (),
) -> ClusterModel:
    """Build a ClusterModel from parsed manifests.

    `origins`, parallel to `objects`, names where each came from (`file:line`)
    for error messages. `externals` are IPs or CIDRs to treat as endpoints.
    Raises PolicyError for malformed objects.
    """
    namespaces: dict[str, Namespace] = {}
    endpoints: list[Endpoint] = []
    services: list[Service] = []
    policies: list[Policy] = []
    for obj, origin in _flatten(objects, origins):
        try:
            kind = check_kind(obj, origin or "manifest")
            if kind == "Namespace":
                ns = _parse_namespace(obj, origin)
                namespaces[ns.name] = ns
            elif kind == "Pod" or kind in WORKLOAD_KINDS:
                endpoints.append(_parse_endpoint(obj, str(kind), origin))
            elif kind == "Service":
                services.append(_parse_service(obj, origin))
            elif kind == "NetworkPolicy":
                policies.append(_parse_policy(obj, origin))
        except PolicyError as exc:
            if origin and not any(d.startswith("in ") for d in exc.details):
                exc.details.append(f"in {origin}")
            raise
        except (TypeError, AttributeError, ValueError, KeyError) as exc:
            # A shape no check above foresaw: still a message naming the object.
            raise PolicyError(
                f"{_reference(obj)}: malformed ({type(exc).__name__}: {exc})",
                details=[f"in {origin}"] if origin else [],
            ) from exc
    used = [e.namespace for e in endpoints] + [s.namespace for s in services]
    for name in [*used, *(p.namespace for p in policies)]:
        if name not in namespaces:
            namespaces[name] = Namespace(name, {NAME_LABEL: name}, declared=False)
    for i, text in enumerate(externals):
        net = parse_network(text, f"external address #{i + 1}")
        endpoints.append(Endpoint("", str(net), EXTERNAL_KIND, ips=(str(net),)))
    _check_unique(endpoints)
    return ClusterModel(namespaces, tuple(endpoints), tuple(services), tuple(policies))


def _flatten(
    objects: Sequence[Mapping[str, Any]], origins: Sequence[str] | None
) -> Iterable[tuple[Mapping[str, Any], str]]:
    for i, obj in enumerate(objects):
        origin = origins[i] if origins is not None and i < len(origins) else ""
        if not isinstance(obj, Mapping):
            raise PolicyError(f"{origin or f'object #{i + 1}'}: expected a Kubernetes object")
        kind = obj.get("kind")
        if isinstance(kind, str) and kind.endswith("List") and isinstance(obj.get("items"), list):
            yield from _flatten(obj["items"], [origin] * len(obj["items"]))
        else:
            yield obj, origin


def _check_unique(endpoints: list[Endpoint]) -> None:
    seen: dict[str, Endpoint] = {}
    for ep in endpoints:
        if ep.key in seen:
            raise PolicyError(
                f"{ep.kind}/{ep.key}: a {seen[ep.key].kind} has the same namespace and name; "
                "endpoint names must be unique per namespace"
            )
        seen[ep.key] = ep


def _reference(obj: Mapping[str, Any]) -> str:
    """`Kind/namespace/name` as far as the object says it, for messages."""
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    parts = [obj.get("kind"), meta.get("namespace"), meta.get("name")]
    return "/".join(p for p in parts if isinstance(p, str) and p) or "object"


def _meta(obj: Mapping[str, Any], kind: str) -> tuple[str, str, Mapping[str, Any]]:
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str):
        raise PolicyError(f"{kind} without metadata.name")
    name = meta["name"]
    namespace = optional_str(meta.get("namespace"), f"{kind}/{name}: metadata.namespace")
    return namespace or "default", name, meta


_str_map = str_map


def _parse_namespace(obj: Mapping[str, Any], origin: str) -> Namespace:
    _, name, meta = _meta(obj, "Namespace")
    labels = _str_map(meta.get("labels"), f"Namespace/{name}: metadata.labels")
    labels[NAME_LABEL] = name  # set by the API server on every namespace
    annotations = _str_map(meta.get("annotations"), f"Namespace/{name}: metadata.annotations")
    return Namespace(name, labels, annotations, True, origin)


def _pod_spec(
    obj: Mapping[str, Any], kind: str, ref: str
) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """(template metadata, pod spec) of a Pod or a workload."""
    if kind == "Pod":
        return mapping(obj.get("metadata"), f"{ref}: metadata"), mapping(
            obj.get("spec"), f"{ref}: spec"
        )
    path = "spec"
    spec = mapping(obj.get("spec"), f"{ref}: spec")
    if kind == "CronJob":
        job = mapping(spec.get("jobTemplate"), f"{ref}: spec.jobTemplate")
        path = "spec.jobTemplate.spec"
        spec = mapping(job.get("spec"), f"{ref}: {path}")
    template = mapping(spec.get("template"), f"{ref}: {path}.template")
    return (
        mapping(template.get("metadata"), f"{ref}: {path}.template.metadata"),
        mapping(template.get("spec"), f"{ref}: {path}.template.spec"),
    )


def _parse_endpoint(obj: Mapping[str, Any], kind: str, origin: str) -> Endpoint:
    namespace, name, meta = _meta(obj, kind)
    ref = f"{kind}/{namespace}/{name}"
    tmeta, spec = _pod_spec(obj, kind, ref)
    labels = _str_map(tmeta.get("labels"), f"{ref}: template labels")
    ports: list[ContainerPort] = []
    for ci, container in enumerate(sequence(spec.get("containers"), f"{ref}: spec.containers")):
        at = f"{ref}: spec.containers[{ci}]"
        for pi, raw in enumerate(sequence(mapping(container, at).get("ports"), f"{at}.ports")):
            where = f"{at}.ports[{pi}]"
            number = raw.get("containerPort") if isinstance(raw, Mapping) else None
            if isinstance(number, bool) or not isinstance(number, int) or not 0 < number < 65536:
                raise PolicyError(f"{where}.containerPort: expected a port number 1-65535")
            pname = optional_str(raw.get("name"), f"{where}.name")
            ports.append(ContainerPort(number, parse_protocol(raw.get("protocol"), where), pname))
    ips: list[str] = []
    if kind == "Pod":
        status = mapping(obj.get("status"), f"{ref}: status")
        pod_ips = sequence(status.get("podIPs"), f"{ref}: status.podIPs")
        for raw_ip in [status.get("podIP")] + [
            mapping(p, f"{ref}: status.podIPs").get("ip") for p in pod_ips
        ]:
            if raw_ip is not None and raw_ip not in ips:
                check_address(raw_ip, f"{ref}: status.podIP")
                ips.append(str(raw_ip))
    host_network = spec.get("hostNetwork", False)
    if not isinstance(host_network, bool | None):
        raise PolicyError(
            f"{ref}: spec.hostNetwork: expected true or false, got {shown(host_network)}"
        )
    return Endpoint(
        namespace,
        name,
        kind,
        labels,
        tuple(dict.fromkeys(ports)),
        tuple(ips),
        bool(host_network),
        _str_map(meta.get("annotations"), f"{ref}: metadata.annotations"),
        origin,
        _controller(meta.get("ownerReferences"), ref),
    )


def _controller(raw: Any, ref: str) -> tuple[str, str] | None:
    """(kind, name) of the controlling owner: the one marked `controller`, else the first."""
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise PolicyError(f"{ref}: metadata.ownerReferences: expected a list")
    owners = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping) or not all(
            isinstance(item.get(k), str) and item.get(k) for k in ("kind", "name")
        ):
            raise PolicyError(
                f"{ref}: metadata.ownerReferences[{i}]: expected a mapping with kind and name"
            )
        owners.append((bool(item.get("controller")), str(item["kind"]), str(item["name"])))
    chosen = next((o for o in owners if o[0]), owners[0] if owners else None)
    return None if chosen is None else (chosen[1], chosen[2])


def _parse_service(obj: Mapping[str, Any], origin: str) -> Service:
    namespace, name, _ = _meta(obj, "Service")
    ref = f"Service/{namespace}/{name}"
    spec = mapping(obj.get("spec"), f"{ref}: spec")
    selector = spec.get("selector")
    ports = []
    for i, raw in enumerate(sequence(spec.get("ports"), f"{ref}: spec.ports")):
        where = f"{ref}: spec.ports[{i}]"
        number = raw.get("port") if isinstance(raw, Mapping) else None
        if isinstance(number, bool) or not isinstance(number, int) or not 0 < number < 65536:
            raise PolicyError(f"{where}.port: expected a port number 1-65535")
        target = raw.get("targetPort", number)
        if isinstance(target, bool) or not isinstance(target, int | str):
            raise PolicyError(
                f"{where}.targetPort: expected a port number or name, got {type_name(target)}"
            )
        proto = parse_protocol(raw.get("protocol"), where)
        pname = optional_str(raw.get("name"), f"{where}.name")
        ports.append(ServicePort(number, proto, target, pname))
    ips = [
        optional_str(spec.get("clusterIP"), f"{ref}: spec.clusterIP"),
        *(
            optional_str(ip, f"{ref}: spec.clusterIPs[{i}]")
            for i, ip in enumerate(sequence(spec.get("clusterIPs"), f"{ref}: spec.clusterIPs"))
        ),
    ]
    cluster_ips = tuple(dict.fromkeys(ip for ip in ips if ip and ip != "None"))
    sel = None if selector is None else _str_map(selector, f"{ref}: spec.selector")
    return Service(namespace, name, sel, tuple(ports), cluster_ips, origin)


def _parse_policy(obj: Mapping[str, Any], origin: str) -> Policy:
    namespace, name, meta = _meta(obj, "NetworkPolicy")
    ref = f"NetworkPolicy/{namespace}/{name}"
    spec = obj.get("spec")
    if not isinstance(spec, Mapping):
        raise PolicyError(f"{ref}: spec is required")
    if "podSelector" not in spec:
        raise PolicyError(f"{ref}: spec.podSelector is required ({{}} selects every pod)")
    pod_selector = parse_selector(spec["podSelector"], f"{ref}: spec.podSelector")
    ingress = _parse_rules(spec, "ingress", "from", ref)
    egress = _parse_rules(spec, "egress", "to", ref)
    raw_types = spec.get("policyTypes")
    if raw_types is None:
        # API defaulting: Ingress always, Egress only when egress rules exist.
        types = {"Ingress"} | ({"Egress"} if egress else set())
    else:
        if not isinstance(raw_types, list) or not raw_types:
            raise PolicyError(f"{ref}: spec.policyTypes: expected a list of Ingress/Egress")
        bad = [t for t in raw_types if t not in ("Ingress", "Egress")]
        if bad:
            raise PolicyError(f"{ref}: spec.policyTypes: {bad[0]!r} is not Ingress or Egress")
        types = set(raw_types)
    annotations = _str_map(meta.get("annotations"), f"{ref}: metadata.annotations")
    return Policy(
        namespace, name, pod_selector, frozenset(types), ingress, egress, annotations, origin
    )


def _parse_rules(
    spec: Mapping[str, Any], direction: str, peer_key: str, ref: str
) -> tuple[Rule, ...]:
    raw_rules = spec.get(direction)
    if raw_rules is None:
        return ()
    if not isinstance(raw_rules, list):
        raise PolicyError(f"{ref}: spec.{direction}: expected a list of rules")
    rules = []
    for i, raw in enumerate(raw_rules):
        where = f"{ref}: spec.{direction}[{i}]"
        raw = raw or {}
        if not isinstance(raw, Mapping):
            raise PolicyError(f"{where}: expected a mapping with {peer_key} and ports")
        raw_peers = raw.get(peer_key)
        raw_ports = raw.get("ports")
        for key, value in ((peer_key, raw_peers), ("ports", raw_ports)):
            if value is not None and not isinstance(value, list):
                raise PolicyError(f"{where}.{key}: expected a list")
        # Missing or empty `from`/`to`/`ports` all mean "no restriction".
        peers = (
            tuple(_parse_peer(p, f"{where}.{peer_key}[{j}]") for j, p in enumerate(raw_peers))
            if raw_peers
            else None
        )
        ports = (
            tuple(parse_port_spec(p, f"{where}.ports[{j}]") for j, p in enumerate(raw_ports))
            if raw_ports
            else None
        )
        rules.append(Rule(direction, i, peers, ports))
    return tuple(rules)


def _parse_peer(raw: Any, where: str) -> Peer:
    if not isinstance(raw, Mapping) or not raw:
        raise PolicyError(f"{where}: a peer needs podSelector, namespaceSelector or ipBlock")
    unknown = set(raw) - {"podSelector", "namespaceSelector", "ipBlock"}
    if unknown:
        names = ", ".join(sorted(repr(k) if not isinstance(k, str) else k for k in unknown))
        raise PolicyError(f"{where}: unknown peer field(s) {names}")
    if "ipBlock" in raw:
        if len(raw) > 1:
            raise PolicyError(f"{where}: ipBlock cannot be combined with selectors")
        return Peer(ip_block=parse_ip_block(raw["ipBlock"], f"{where}.ipBlock"))
    pods = raw.get("podSelector")
    nss = raw.get("namespaceSelector")
    return Peer(
        parse_selector(pods, f"{where}.podSelector") if "podSelector" in raw else None,
        parse_selector(nss, f"{where}.namespaceSelector") if "namespaceSelector" in raw else None,
    )
