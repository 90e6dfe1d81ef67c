"""`rollout smoke --env staging` end to end: a git policy repo with smoke-tests.yaml,
the static pre-check on the rendered revision, live probes, outputs and exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import yaml
from click.testing import CliRunner

from rollout.cli.main import cli
from tests.harness import ApiServer, KubeBinaries
from tests.harness.fake_node import FakeNode
from tests.integration.apply.policy_repo import SUBDIR, PolicyRepo
from tests.integration.smoke.conftest import World, create_pod, policy_table

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _harness_kustomize(kube_binaries: KubeBinaries, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLLOUT_KUSTOMIZE", f"{kube_binaries.kubectl} kustomize")


def _np(ns: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


def _repo(tmp_path: Path, world: World, tests: list[dict[str, Any]]) -> PolicyRepo:
    repo = PolicyRepo(tmp_path / "policies")
    web, api = {"app": "web"}, {"app": "api"}
    dns = {"ports": [{"port": 53, "protocol": "UDP"}]}
    deny = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "egress": [dns]}
    any_ns: dict[str, Any] = {"namespaceSelector": {}}
    repo.write(
        "policies.yaml",
        _np(world.web, "default-deny", deny),
        _np(world.api, "default-deny", deny),
        _np(
            world.web,
            "web-to-api",
            {
                "podSelector": {"matchLabels": web},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [{**any_ns, "podSelector": {"matchLabels": api}}],
                        "ports": [{"port": 8080}],
                    }
                ],
            },
        ),
        _np(
            world.api,
            "api-from-web",
            {
                "podSelector": {"matchLabels": api},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [{**any_ns, "podSelector": {"matchLabels": web}}],
                        "ports": [{"port": 8080}],
                    }
                ],
            },
        ),
    )
    repo.write("kustomization.yaml", "resources: [policies.yaml]\n")
    (repo.root / SUBDIR / "smoke-tests.yaml").write_text(yaml.safe_dump({"tests": tests}))
    repo.commit("policies and smoke tests")
    return repo


def _config(repo: PolicyRepo, apiserver: ApiServer, world: World) -> str:
    env = {
        "name": "staging",
        "cluster": {"kubeconfig": str(apiserver.kubeconfig_path)},
        "namespaces": list(world.namespaces),
        "overlay": repo.overlay,
        "smoke": {"timeout": "2s", "start_timeout": "20s"},
    }
    path = repo.root.parent / "rollout.yaml"
    path.write_text(yaml.safe_dump({"repository": {"path": str(repo.root)}, "environments": [env]}))
    return str(path)


def _expect(world: World, port: int, expect: str) -> dict[str, Any]:
    return {
        "name": f"web-to-api-{port}",
        "from": {"namespace": world.web, "labels": {"app": "web"}},
        "to": {"namespace": world.api, "labels": {"app": "api"}},
        "port": port,
        "expect": expect,
    }


def test_smoke_passes_with_json_and_junit_outputs(
    apiserver: ApiServer,
    world: World,
    tmp_path: Path,
    fake_node_factory: Callable[..., FakeNode],
) -> None:
    create_pod(apiserver, world.api, "api-0", {"app": "api"})
    table = policy_table(world, [(world.web, {"app": "web"}, world.api, {"app": "api"}, 8080)])
    fake_node_factory(table, namespaces=world.namespaces)
    repo = _repo(tmp_path, world, [_expect(world, 8080, "allow"), _expect(world, 22, "deny")])
    junit = tmp_path / "smoke.xml"

    result = CliRunner().invoke(
        cli,
        [
            "smoke",
            "-c",
            _config(repo, apiserver, world),
            "--env",
            "staging",
            "-o",
            "json",
            "--junit-file",
            str(junit),
        ],
    )

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["passed"] and report["environment"] == "staging"
    kinds = [r["kind"] for r in report["results"]]
    assert kinds.count("precheck") == kinds.count("expectation") + 3  # + 2 dns + canary
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0"


def test_expectation_that_cannot_hold_fails_before_any_pod(
    apiserver: ApiServer,
    world: World,
    tmp_path: Path,
    fake_node_factory: Callable[..., FakeNode],
) -> None:
    create_pod(apiserver, world.api, "api-0", {"app": "api"})
    node = fake_node_factory(namespaces=world.namespaces)
    repo = _repo(tmp_path, world, [_expect(world, 9090, "allow")])

    result = CliRunner().invoke(
        cli, ["smoke", "-c", _config(repo, apiserver, world), "--env", "staging", "-o", "markdown"]
    )

    assert result.exit_code == 6, result.output
    assert "cannot hold: expected allow, the revision's policies deny it" in result.output
    assert node.probes_run == []


def test_bad_spec_is_a_validation_error_naming_the_field(
    apiserver: ApiServer, world: World, tmp_path: Path
) -> None:
    bad = _expect(world, 8080, "allwo")
    repo = _repo(tmp_path, world, [bad])

    result = CliRunner().invoke(
        cli, ["smoke", "-c", _config(repo, apiserver, world), "--env", "staging"]
    )

    assert result.exit_code == 3
    assert "smoke-tests.yaml: tests[0].expect: expected allow or deny, got 'allwo'" in result.output
