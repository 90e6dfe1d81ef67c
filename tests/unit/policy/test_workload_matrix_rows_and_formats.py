"""`policy matrix` without --port: one row per workload pair that may connect, with
every allowed port written as ranges; pods on request, guarded by --max-rows;
table, JSON (versioned), CSV, Markdown, DOT and netpol-analyzer's JSON/CSV."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from rollout.cli.main import cli
from rollout.policy import analyze, load_cluster
from rollout.policy.connectivity import count_rows, workload_connections
from tests.unit.policy.builders import labels, ns, pod, policy


def replica(name: str, deployment: str, app: str, port: int = 80) -> dict[str, Any]:
    obj = pod(
        "shop", name, {"app": app, "pod-template-hash": "abc12"}, ports=[{"containerPort": port}]
    )
    obj["metadata"]["ownerReferences"] = [
        {"kind": "ReplicaSet", "name": f"{deployment}-abc12", "controller": True}
    ]
    return obj


CLUSTER = [
    ns("shop"),
    replica("web-abc12-1", "web", "web"),
    replica("web-abc12-2", "web", "web"),
    replica("api-abc12-1", "api", "api", port=8000),
    pod("shop", "debug", {"app": "debug"}),
    policy("shop", "deny", policy_types=["Ingress", "Egress"]),
    policy(
        "shop",
        "web-out",
        podSelector=labels(app="web"),
        policy_types=["Egress"],
        egress=[
            {
                "to": [{"podSelector": labels(app="api")}],
                "ports": [
                    {"port": 80},
                    {"port": 443},
                    {"port": 8000, "endPort": 8100},
                    {"port": 53, "protocol": "UDP"},
                ],
            },
            {
                "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}],
                "ports": [{"port": 443}],
            },
        ],
    ),
    policy(
        "shop",
        "api-in",
        podSelector=labels(app="api"),
        policy_types=["Ingress"],
        ingress=[{"from": [{"podSelector": labels(app="web")}]}],
    ),
]


def rows(**kw: Any) -> list[tuple[str, str, str]]:
    analysis = analyze(load_cluster(CLUSTER))
    return [(r.source, r.destination, r.ports) for r in workload_connections(analysis, **kw)]


def test_replicas_are_one_workload_and_ports_are_written_as_ranges() -> None:
    assert rows() == [
        ("shop/web[Deployment]", "shop/api[Deployment]", "TCP 80,443,8000-8100; UDP 53"),
        ("shop/web[Deployment]", "0.0.0.0/0 except (10.0.0.0/8)", "TCP 443"),
    ]


def test_without_policies_everything_is_all() -> None:
    analysis = analyze(load_cluster([ns("a"), pod("a", "x"), pod("a", "y")]))
    found = [(r.source, r.destination, r.ports) for r in workload_connections(analysis)]
    assert ("a/x[Pod]", "a/y[Pod]", "all") in found
    assert ("0.0.0.0/0,::/0", "a/x[Pod]", "all") in found


def test_pod_rows_name_each_pod_and_are_counted_before_writing() -> None:
    found = rows(pods=True, externals=False)
    assert [(s, d) for s, d, _ in found] == [
        ("shop/web-abc12-1[Pod]", "shop/api-abc12-1[Pod]"),
        ("shop/web-abc12-2[Pod]", "shop/api-abc12-1[Pod]"),
    ]
    assert count_rows(analyze(load_cluster(CLUSTER)), pods=True) == 2


def run(tmp_path: Path, *args: str) -> tuple[int, str]:
    (tmp_path / "cluster.yaml").write_text(yaml.safe_dump_all(CLUSTER), encoding="utf-8")
    result = CliRunner().invoke(cli, ["policy", "matrix", str(tmp_path), *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_json_has_a_version_and_exact_port_ranges(tmp_path: Path) -> None:
    code, out = run(tmp_path, "-o", "json")
    assert code == 0, out
    data = json.loads(out)
    assert data["version"] == 1 and data["level"] == "workload"
    first = data["connections"][0]
    assert first["from"] == "shop/web[Deployment]" and first["to"] == "shop/api[Deployment]"
    assert first["port_ranges"] == [
        {"protocol": "TCP", "first": 80, "last": 80},
        {"protocol": "TCP", "first": 443, "last": 443},
        {"protocol": "TCP", "first": 8000, "last": 8100},
        {"protocol": "UDP", "first": 53, "last": 53},
    ]
    assert data["connections"][1]["to_addresses"][0] == "0.0.0.0/5"


def test_csv_markdown_dot_and_table(tmp_path: Path) -> None:
    assert run(tmp_path, "-o", "csv")[1].splitlines()[:2] == [
        "from,to,ports",
        'shop/web[Deployment],shop/api[Deployment],"TCP 80,443,8000-8100; UDP 53"',
    ]
    assert (
        "| `shop/web[Deployment]` | `shop/api[Deployment]` | TCP 80,443"
        in run(tmp_path, "-o", "markdown")[1]
    )
    dot = run(tmp_path, "-o", "dot")[1]
    assert dot.startswith("digraph connectivity {")
    assert '"shop/web[Deployment]" -> "shop/api[Deployment]"' in dot
    table = run(tmp_path)[1]
    assert "shop/web[Deployment] => shop/api[Deployment] : TCP 80,443,8000-8100; UDP 53" in table


def test_netpol_analyzer_format_uses_its_field_names_and_wording(tmp_path: Path) -> None:
    code, out = run(tmp_path, "--format", "netpol-analyzer", "-o", "json")
    assert code == 0, out
    items = json.loads(out)
    assert items[0] == {
        "src": "shop/web[Deployment]",
        "dst": "shop/api[Deployment]",
        "conn": "TCP 80,443,8000-8100,UDP 53",
    }
    assert {"src": "shop/web[Deployment]", "dst": "0.0.0.0-9.255.255.255", "conn": "TCP 443"} in (
        items
    )
    csv_out = run(tmp_path, "--format", "netpol-analyzer", "-o", "csv")[1]
    assert csv_out.splitlines()[0] == "src,dst,conn"
    code, out = run(tmp_path, "--format", "netpol-analyzer", "-o", "dot")
    assert code == 2 and "-o json or -o csv" in out


def test_pod_rows_over_the_limit_are_refused_with_the_size_and_what_to_do(tmp_path: Path) -> None:
    code, out = run(tmp_path, "--pods", "--max-rows", "1")
    assert code == 2
    assert "--pods would write 2 pod-pair rows" in out and "drop --pods" in out
    code, out = run(tmp_path, "--pods", "-o", "csv")
    assert code == 0 and "shop/web-abc12-1[Pod],shop/api-abc12-1[Pod]" in out
