"""Cilium Hubble flows as `hubble observe -o json` and the Hubble exporter write them.

Both write one JSON object per line: a `GetFlowsResponse` with the flow under
`"flow"` beside `"node_name"` and `"time"` (a bare flow object is accepted
too). Field names are those of Hubble's `flow.proto` (api/v1/flow), in
protobuf JSON with the proto names: `time`, `verdict`, `IP.source`,
`IP.destination`, `l4.TCP|UDP|SCTP.destination_port`, `source`/`destination`
endpoints with `namespace`, `pod_name`, `labels` (`k8s:app=web`,
`reserved:world`), `workloads[{name, kind}]`, `traffic_direction`,
`is_reply`, `event_type.type` and `l4.TCP.flags`.

One connection is counted once:
  * replies are skipped (`is_reply`, or a TCP SYN+ACK when it is absent);
  * TCP counts only the opening SYN; later packets of a connection are skipped;
  * policy-verdict events (`event_type.type` 5) are skipped: the trace or drop
    event of the same packet carries the same flow;
  * an in-cluster sender is counted where it sends (`traffic_direction`
    EGRESS); the receiving node's INGRESS copy is skipped. A sender outside
    the cluster (no namespace) is counted at INGRESS.
UDP and SCTP count every datagram the sender sends. ICMP and other non-port
traffic is skipped (NetworkPolicy ports do not apply to it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rollout.errors import InputError
from rollout.flows.records import FlowRecord, ObservedEndpoint

POLICY_VERDICT_EVENT = 5
_NS_LABEL_PREFIX = "io.cilium.k8s.namespace.labels."
# Labels Cilium adds to a pod's identity that are not the pod's own labels.
_IDENTITY_ONLY = ("io.kubernetes.pod.namespace", "io.cilium.k8s.policy.")

SKIP_NOT_A_FLOW = "not a flow (another Hubble event)"
SKIP_REPLY = "reply direction"
SKIP_MID_CONNECTION = "TCP packet after the opening SYN"
SKIP_POLICY_VERDICT = "policy-verdict event (its trace/drop event is counted)"
SKIP_RECEIVER_COPY = "receiving side's copy of an in-cluster sender's flow"
SKIP_NO_PORT = "no TCP/UDP/SCTP port (ICMP or L7-only)"


def parse_hubble(obj: Any, where: str) -> FlowRecord | str:
    """The record a Hubble JSON object stands for, or why it is skipped.

    Raises InputError naming `where` when the object is not Hubble's shape.
    """
    if not isinstance(obj, Mapping):
        raise InputError(f"{where}: expected a JSON object (a Hubble flow)")
    flow = obj.get("flow", obj if "verdict" in obj or "IP" in obj else None)
    if flow is None:
        return SKIP_NOT_A_FLOW
    if not isinstance(flow, Mapping):
        raise InputError(f"{where}: 'flow' must be an object")
    event = flow.get("event_type")
    if isinstance(event, Mapping) and event.get("type") == POLICY_VERDICT_EVENT:
        return SKIP_POLICY_VERDICT
    l4 = flow.get("l4")
    layer: Mapping[str, Any] | None = None
    protocol = ""
    if isinstance(l4, Mapping):
        for name in ("TCP", "UDP", "SCTP"):
            found = l4.get(name)
            if isinstance(found, Mapping):
                layer, protocol = found, name
                break
    if layer is None:
        return SKIP_NO_PORT
    port = layer.get("destination_port")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise InputError(f"{where}: l4.{protocol}.destination_port: expected a port 1-65535")
    flags = layer.get("flags") if protocol == "TCP" else None
    flags = flags if isinstance(flags, Mapping) else {}
    is_reply = flow.get("is_reply")
    if is_reply is True or (is_reply is None and flags.get("SYN") and flags.get("ACK")):
        return SKIP_REPLY
    if protocol == "TCP" and (not flags.get("SYN") or flags.get("ACK")):
        return SKIP_MID_CONNECTION
    ip = flow.get("IP")
    ip = ip if isinstance(ip, Mapping) else {}
    source = _endpoint(flow.get("source"), str(ip.get("source") or ""), f"{where}: source")
    destination = _endpoint(
        flow.get("destination"), str(ip.get("destination") or ""), f"{where}: destination"
    )
    if flow.get("traffic_direction") == "INGRESS" and source.namespace:
        return SKIP_RECEIVER_COPY
    return FlowRecord(
        time=_time(flow.get("time") or obj.get("time"), f"{where}: time"),
        source=source,
        destination=destination,
        port=port,
        protocol=protocol,
        verdict=str(flow.get("verdict") or ""),
    )


def _time(raw: Any, where: str) -> datetime:
    if not isinstance(raw, str):
        raise InputError(f"{where}: expected an RFC 3339 timestamp")
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        raise InputError(f"{where}: {raw!r} is not an RFC 3339 timestamp") from None


def _endpoint(raw: Any, ip: str, where: str) -> ObservedEndpoint:
    if raw is None:
        return ObservedEndpoint(ip=ip)
    if not isinstance(raw, Mapping):
        raise InputError(f"{where}: expected an endpoint object")
    labels: dict[str, str] = {}
    ns_labels: dict[str, str] = {}
    reserved = ""
    for item in raw.get("labels") or ():
        source, _, label = str(item).partition(":")
        key, _, value = label.partition("=")
        if source == "reserved":
            reserved = reserved or key
        elif source == "k8s":
            if key.startswith(_NS_LABEL_PREFIX):
                ns_labels[key.removeprefix(_NS_LABEL_PREFIX)] = value
            elif not key.startswith(_IDENTITY_ONLY):
                labels[key] = value
    workload = kind = ""
    for item in raw.get("workloads") or ():
        if isinstance(item, Mapping) and item.get("name"):
            workload, kind = str(item["name"]), str(item.get("kind") or "")
            break
    namespace = str(raw.get("namespace") or "")
    return ObservedEndpoint(
        namespace=namespace,
        pod=str(raw.get("pod_name") or ""),
        ip=ip,
        workload=workload,
        workload_kind=kind,
        labels=tuple(sorted(labels.items())) if namespace else None,
        namespace_labels=tuple(sorted(ns_labels.items())) if ns_labels else None,
        reserved=reserved,
    )
