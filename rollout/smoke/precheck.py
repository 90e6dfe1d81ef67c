"""Static pre-check: can the expectations hold at all? (PURE: the policy engine on dicts.)

Before any pod is created, the same plan is evaluated by the policy engine
against the revision's policies and the live namespaces, pods and services.
Sources are modelled exactly as the probe pods will be (a Pod in the source
namespace with the source labels and our run labels); a destination with no
matching live pod is modelled as the listener pod the runner would start.
An expectation that cannot hold fails the run early, with the explanation.
Hostnames and Services without backends cannot be judged statically and are
reported as skipped (the live probe still runs them).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from rollout.policy import Analysis, ClusterModel, analyze, explain, load_cluster
from rollout.smoke import verdicts
from rollout.smoke.plan import PlannedCheck, SmokePlan
from rollout.smoke.probe import ROLE_LABEL
from rollout.smoke.results import CheckResult
from rollout.smoke.runner import Precheck

DNS_NAMESPACE = "kube-system"
DNS_LABELS: Mapping[str, str] = {"k8s-app": "kube-dns"}
Endpoint = tuple[str, str]  # (namespace, name); ("", CIDR) for external addresses


def static_precheck(
    plan: SmokePlan,
    desired: Sequence[Mapping[str, Any]],
    live: Sequence[Mapping[str, Any]],
    *,
    pod_ip_in_ipblock: bool = True,
) -> list[CheckResult]:
    """One `precheck` result per planned check.

    `desired`: the rendered revision (its NetworkPolicies replace the live ones);
    `live`: namespaces, pods and services read from the cluster.
    Raises PolicyError if the objects are malformed.
    """
    builder = _ModelBuilder(plan, desired, live)
    model = builder.model()
    analysis = analyze(model, pod_ip_in_ipblock=pod_ip_in_ipblock)
    return [
        _judge(
            check,
            builder.sources[probe.number],
            builder.destinations[(probe.number, check.index)],
            model,
            analysis,
            pod_ip_in_ipblock,
        )
        for probe in plan.probes
        for check in probe.checks
    ]


def precheck_with(
    desired: Sequence[Mapping[str, Any]], live: Sequence[Mapping[str, Any]]
) -> Precheck:
    """A `Precheck` for `run_smoke_suite` over these objects."""
    return lambda plan: static_precheck(plan, desired, live)


def _labels(obj: Mapping[str, Any]) -> Mapping[str, str]:
    labels: Mapping[str, str] = obj.get("metadata", {}).get("labels") or {}
    return labels


def _pod(
    namespace: str, name: str, labels: Mapping[str, str], ports: Sequence[tuple[int, str]]
) -> dict[str, Any]:
    container_ports = [{"containerPort": p, "protocol": proto} for p, proto in ports]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"namespace": namespace, "name": name, "labels": dict(labels)},
        "spec": {"containers": [{"name": "c", "ports": container_ports}]},
    }


ListenerKey = tuple[str, tuple[tuple[str, str], ...]]


class _ModelBuilder:
    """Collects live objects + the revision's policies + synthetic probe/listener pods."""

    def __init__(
        self,
        plan: SmokePlan,
        desired: Sequence[Mapping[str, Any]],
        live: Sequence[Mapping[str, Any]],
    ) -> None:
        self.objects: list[Mapping[str, Any]] = [
            o for o in live if o.get("kind") != "NetworkPolicy" and ROLE_LABEL not in _labels(o)
        ]
        self.objects.extend(desired)
        self.pods = [o for o in self.objects if o.get("kind") == "Pod"]
        self.services = {
            (o["metadata"].get("namespace", ""), o["metadata"]["name"]): o
            for o in self.objects
            if o.get("kind") == "Service"
        }
        self.sources: dict[int, Endpoint] = {}
        self.destinations: dict[tuple[int, int], list[Endpoint] | str] = {}
        self.externals: list[str] = []
        self.listeners: dict[ListenerKey, tuple[str, set[tuple[int, str]]]] = {}
        for probe in plan.probes:
            name = f"smoke-probe-{probe.number}"
            probe_labels = {**probe.source.labels, ROLE_LABEL: "probe"}
            self.objects.append(_pod(probe.source.namespace, name, probe_labels, []))
            self.sources[probe.number] = (probe.source.namespace, name)
            for check in probe.checks:
                self.destinations[(probe.number, check.index)] = self._destination(check)
        for (ns, target_labels), (name, ports) in self.listeners.items():
            pod_labels = {**dict(target_labels), ROLE_LABEL: "listener"}
            self.objects.append(_pod(ns, name, pod_labels, sorted(ports)))

    def _matching(self, namespace: str, labels: Mapping[str, str]) -> list[Endpoint]:
        return [
            (namespace, p["metadata"]["name"])
            for p in self.pods
            if p["metadata"].get("namespace") == namespace
            and all(_labels(p).get(k) == v for k, v in labels.items())
        ]

    def _destination(self, check: PlannedCheck) -> list[Endpoint] | str:
        """The endpoints the probe may reach, or why it cannot be judged statically."""
        target = check.target
        if target.kind == "host":
            try:
                address = ipaddress.ip_address(target.host)
            except ValueError:
                return f"host name {target.host} cannot be judged statically"
            self.externals.append(target.host)
            return [("", f"{target.host}/{address.max_prefixlen}")]
        if target.kind == "service":
            svc = self.services.get((target.namespace, target.name))
            if svc is None:
                return f"service {target.namespace}/{target.name} does not exist"
            selector = svc.get("spec", {}).get("selector") or {}
            found = self._matching(target.namespace, selector) if selector else []
            return found or f"service {target.namespace}/{target.name} has no backend pods"
        if target.kind == "dns":
            namespace, labels = DNS_NAMESPACE, DNS_LABELS
        else:
            namespace, labels = target.namespace, target.labels
        found = [] if check.role == "canary" else self._matching(namespace, labels)
        if found:
            return found
        key = (namespace, tuple(sorted(labels.items())))
        name, ports = self.listeners.setdefault(
            key, (f"smoke-listener-{len(self.listeners)}", set())
        )
        ports.add((check.port, check.protocol))
        return [(namespace, name)]

    def model(self) -> ClusterModel:
        return load_cluster(self.objects, externals=self.externals)


def _judge(
    check: PlannedCheck,
    source: Endpoint,
    destination: list[Endpoint] | str,
    model: ClusterModel,
    analysis: Analysis,
    pod_ip_in_ipblock: bool,
) -> CheckResult:
    base = verdicts.error(check, "")
    if isinstance(destination, str):
        return replace(
            base, kind="precheck", outcome="skipped", message=f"not judged: {destination}"
        )
    want = check.expect == "allow"
    wrong = [
        d for d in destination if analysis.allowed(*source, *d, check.port, check.protocol) != want
    ]
    if not wrong:
        verdict = "allowed" if want else "denied"
        return replace(base, kind="precheck", outcome="passed", message=f"policies: {verdict}")
    dst_key = wrong[0][1] if not wrong[0][0] else "/".join(wrong[0])
    why = explain(
        model,
        "/".join(source),
        dst_key,
        check.port,
        check.protocol,
        pod_ip_in_ipblock=pod_ip_in_ipblock,
    )
    others = f" (and {len(wrong) - 1} more destination pods)" if len(wrong) > 1 else ""
    message = (
        f"cannot hold: expected {check.expect}, the revision's policies "
        f"{'deny' if want else 'allow'} it{others}: "
        + "; ".join(line.strip() for line in why.lines())
    )
    return replace(base, kind="precheck", outcome="failed", message=message)
