"""`rollout plan` replays the environment's observed flows from the deployed revision."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from click.testing import CliRunner
from kubernetes import client as k8s

from rollout.cli.main import cli
from tests.harness import ApiServer
from tests.integration.apply.policy_repo import PolicyRepo, policy

pytestmark = pytest.mark.integration


def test_plan_names_the_observed_flows_a_change_would_cut(
    repo: PolicyRepo, apiserver: ApiServer, namespaces: list[str], state_namespace: str
) -> None:
    shop, _ = namespaces
    with apiserver.client() as api:
        core = k8s.CoreV1Api(api)
        for app in ("web", "client"):
            core.create_namespaced_pod(
                shop,
                k8s.V1Pod(
                    metadata=k8s.V1ObjectMeta(name=f"{app}-0", labels={"app": app}),
                    spec=k8s.V1PodSpec(
                        containers=[k8s.V1Container(name="main", image="registry.invalid/none:1")]
                    ),
                ),
            )
    # web accepts 80 only: the client's observed calls on 8080 would be cut.
    repo.write("web.yaml", policy("web-in", shop, ports=(80,)))
    repo.commit("web accepts 80 only")
    config = repo.config(apiserver.kubeconfig_path, namespaces, state_namespace=state_namespace)
    flows = config.parent / "flows.csv"
    seen = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    flows.write_text(
        "time,source,destination,port,protocol,count\n"
        f"{seen},{shop}/client-0,{shop}/web-0,8080,TCP,1204\n"
        f"{seen},{shop}/client-0,{shop}/web-0,80,TCP,5\n"
    )
    data = yaml.safe_load(config.read_text())
    data["environments"][0]["observed_flows"] = {"sources": [str(flows)], "window": "7d"}
    config.write_text(yaml.safe_dump(data))

    text = CliRunner().invoke(cli, ["plan", "-c", str(config), "--env", "staging"])
    assert text.exit_code == 0, text.output
    assert "1 flow(s) newly denied (cut):" in text.output
    assert f"- {shop}/client-0 -> {shop}/web-0 8080/TCP, last seen" in text.output
    assert "1,204 times (denied after the change by the ingress of" in text.output

    as_json = CliRunner().invoke(cli, ["plan", "-c", str(config), "--env", "staging", "-o", "json"])
    assert as_json.exit_code == 0, as_json.output
    replayed = json.loads(as_json.stdout)["observed_flows"]
    assert [(c["destination"], c["port"]) for c in replayed["cut"]] == [(f"{shop}/web-0", 8080)]
    assert (replayed["window"], replayed["unchanged_allowed"]) == ("7d", 1)
