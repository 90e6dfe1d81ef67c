"""`rollout policy replay --live ENV --rev AFTER` on the dev cluster (a real apiserver).

BEFORE is the policies in the cluster; the flow records carry only IPs, so
every endpoint is resolved through the live pods, with their creation time:
a record older than the pod now holding its IP is reported, not pinned on it.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from kubernetes import client as k8s

from rollout.cli.main import cli
from tests.harness import ApiServer

pytestmark = pytest.mark.integration

IPS = {"web": "10.9.0.2", "db": "10.9.0.3", "report": "10.9.0.4"}


def _policy(ns: str, name: str, spec: dict[str, object]) -> dict[str, object]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


def _db_in(ns: str, apps: list[str]) -> dict[str, object]:
    return _policy(
        ns,
        "db-in",
        {
            "podSelector": {"matchLabels": {"app": "db"}},
            "ingress": [
                {
                    "from": [
                        {
                            "podSelector": {
                                "matchExpressions": [
                                    {"key": "app", "operator": "In", "values": apps}
                                ]
                            }
                        }
                    ],
                    "ports": [{"port": "pg"}],  # a named port: the db pod's container port
                }
            ],
        },
    )


def _web_in(ns: str, cidr: str) -> dict[str, object]:
    return _policy(
        ns,
        "web-in",
        {
            "podSelector": {"matchLabels": {"app": "web"}},
            "ingress": [{"from": [{"ipBlock": {"cidr": cidr}}], "ports": [{"port": 8080}]}],
        },
    )


@pytest.fixture
def cluster(apiserver: ApiServer, kube_namespace: str) -> str:
    ns = kube_namespace
    with apiserver.client() as api:
        core = k8s.CoreV1Api(api)
        for app, port, port_name in (
            ("web", 8080, "http"),
            ("db", 5432, "pg"),
            ("report", 9000, "metrics"),
        ):
            core.create_namespaced_pod(
                ns,
                k8s.V1Pod(
                    metadata=k8s.V1ObjectMeta(name=f"{app}-0", labels={"app": app}),
                    spec=k8s.V1PodSpec(
                        containers=[
                            k8s.V1Container(
                                name="main",
                                image="registry.invalid/none:1",
                                ports=[k8s.V1ContainerPort(container_port=port, name=port_name)],
                            )
                        ]
                    ),
                ),
            )
            ip = IPS[app]
            core.patch_namespaced_pod_status(
                f"{app}-0", ns, {"status": {"podIP": ip, "podIPs": [{"ip": ip}]}}
            )
        net = k8s.NetworkingV1Api(api)
        net.create_namespaced_network_policy(ns, _db_in(ns, ["web", "report"]))
        net.create_namespaced_network_policy(ns, _web_in(ns, "198.51.100.0/24"))
    return ns


def test_live_policies_against_a_revision_with_ips_resolved_in_time(
    apiserver: ApiServer, cluster: str, tmp_path: Path
) -> None:
    ns = cluster
    repo = tmp_path / "repo"
    (repo / "policies").mkdir(parents=True)
    (repo / "policies" / "app.yaml").write_text(
        yaml.safe_dump_all([_db_in(ns, ["web"]), _web_in(ns, "203.0.113.0/24")])
    )
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-qm", "after"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
            cwd=repo,
            check=True,
        )
    config = tmp_path / "rollout.yaml"
    config.write_text(
        "repository: {path: repo}\n"
        "environments:\n"
        f"  - name: dev\n    namespaces: [{ns}]\n    overlay: dev\n"
        f"    cluster: {{kubeconfig: {apiserver.kubeconfig_path}}}\n"
    )
    now = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    old = now - timedelta(days=2)  # before these pods existed
    rows = [
        (now, IPS["report"], IPS["db"], 5432, 40),  # cut: db-in no longer admits report
        (now, IPS["web"], IPS["db"], 5432, 7),  # still allowed
        (now, "198.51.100.7", IPS["web"], 8080, 3),  # cut: the ipBlock moved
        (now, "203.0.113.9", IPS["web"], 8080, 2),  # opened
        (old, IPS["report"], IPS["db"], 5432, 900),  # IP then held by a pod long gone
    ]
    flows = tmp_path / "flows.csv"
    flows.write_text(
        "time,source,destination,port,protocol,count\n"
        + "".join(f"{t.isoformat()},{s},{d},{p},TCP,{c}\n" for t, s, d, p, c in rows)
    )

    result = CliRunner().invoke(
        cli,
        [
            "policy",
            "replay",
            str(flows),
            "--live",
            "dev",
            "--config",
            str(config),
            "--rev",
            "HEAD",
            "--repo",
            str(repo),
            "--path",
            "policies",
            "-o",
            "json",
            "--no-pod-ip-in-ipblock",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    cut = sorted((c["source"], c["destination"], c["port"], c["count"]) for c in summary["cut"])
    assert cut == [
        ("198.51.100.7", f"{ns}/web-0", 8080, 3),
        (f"{ns}/report-0", f"{ns}/db-0", 5432, 40),
    ]
    assert [(o["source"], o["destination"]) for o in summary["opened"]] == [
        ("203.0.113.9", f"{ns}/web-0")
    ]
    assert summary["unchanged_allowed"] == 1
    (reused,) = summary["unresolved"]
    assert (reused["endpoint"], reused["count"]) == (IPS["report"], 900)
    assert f"held now by pod {ns}/report-0, created after the flow" in reused["reason"]
