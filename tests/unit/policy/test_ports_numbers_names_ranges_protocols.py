"""Ports by number, by name (on the destination pod), ranges with endPort, protocols."""

from tests.unit.policy.builders import build, labels, ns, ok, pod, policy

SERVER = pod(
    "a",
    "srv",
    {"app": "srv"},
    ports=[
        {"containerPort": 8080, "name": "http"},
        {"containerPort": 5353, "name": "dns", "protocol": "UDP"},
    ],
)
OTHER = pod("a", "other", {"app": "other"}, ports=[{"containerPort": 9090, "name": "http"}])
CLIENT = pod("a", "cli", {"app": "cli"}, ports=[{"containerPort": 7000, "name": "http"}])
BASE = (ns("a"), SERVER, OTHER, CLIENT)


def ingress_ports(*ports: dict[str, object]) -> dict[str, object]:
    return policy("a", "p", podSelector=labels(app="srv"), ingress=[{"ports": list(ports)}])


def test_numeric_port_and_default_tcp() -> None:
    a = build(*BASE, ingress_ports({"port": 8080}))
    assert ok(a, "a/cli", "a/srv", 8080, "TCP")
    assert not ok(a, "a/cli", "a/srv", 8080, "UDP")
    assert not ok(a, "a/cli", "a/srv", 8081)


def test_udp_and_sctp_ports() -> None:
    a = build(
        *BASE, ingress_ports({"port": 53, "protocol": "UDP"}, {"port": 9, "protocol": "SCTP"})
    )
    assert ok(a, "a/cli", "a/srv", 53, "UDP")
    assert not ok(a, "a/cli", "a/srv", 53, "TCP")
    assert ok(a, "a/cli", "a/srv", 9, "SCTP")


def test_port_range_with_end_port() -> None:
    a = build(*BASE, ingress_ports({"port": 32000, "endPort": 32010}))
    assert ok(a, "a/cli", "a/srv", 32000)
    assert ok(a, "a/cli", "a/srv", 32010)
    assert not ok(a, "a/cli", "a/srv", 32011)
    assert not ok(a, "a/cli", "a/srv", 31999)


def test_protocol_only_port_means_every_port_of_that_protocol() -> None:
    a = build(*BASE, ingress_ports({"protocol": "UDP"}))
    assert ok(a, "a/cli", "a/srv", 1, "UDP")
    assert not ok(a, "a/cli", "a/srv", 80, "TCP")


def test_named_port_on_ingress_resolves_on_the_selected_pod() -> None:
    a = build(*BASE, ingress_ports({"port": "http"}))
    assert ok(a, "a/cli", "a/srv", 8080)
    assert not ok(a, "a/cli", "a/srv", 7000)  # the client's "http" does not count


def test_named_port_needs_the_same_protocol() -> None:
    a = build(*BASE, ingress_ports({"port": "dns"}))  # TCP by default, dns is UDP
    assert not ok(a, "a/cli", "a/srv", 5353, "UDP")
    assert not ok(a, "a/cli", "a/srv", 5353, "TCP")
    a = build(*BASE, ingress_ports({"port": "dns", "protocol": "UDP"}))
    assert ok(a, "a/cli", "a/srv", 5353, "UDP")


def test_named_port_on_egress_resolves_on_each_destination() -> None:
    egress = policy(
        "a",
        "e",
        podSelector=labels(app="cli"),
        policy_types=["Egress"],
        egress=[{"ports": [{"port": "http"}]}],
    )
    a = build(*BASE, egress)
    assert ok(a, "a/cli", "a/srv", 8080)
    assert not ok(a, "a/cli", "a/srv", 9090)
    assert ok(a, "a/cli", "a/other", 9090)
    assert not ok(a, "a/cli", "a/other", 8080)
