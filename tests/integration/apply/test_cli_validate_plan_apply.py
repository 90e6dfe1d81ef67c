"""`rollout validate/plan/apply --env staging` on a kustomize overlay: summaries,
drift made by hand with kubectl shown by plan and repaired by apply."""

from __future__ import annotations

import json
import subprocess

import pytest
from click.testing import CliRunner

from rollout.cli.main import cli
from tests.harness import ApiServer, KubeBinaries
from tests.integration.apply.policy_repo import SUBDIR, PolicyRepo, policy

pytestmark = pytest.mark.integration


def _kustomize_repo(repo: PolicyRepo, shop: str) -> None:
    base = repo.root / SUBDIR / "base"
    base.mkdir(parents=True)
    (base / "policies.yaml").write_text(
        "\n---\n".join(
            json.dumps(p)
            for p in (
                policy("allow-web", ""),
                policy("default-deny", "", app=None, ports=()),
            )
        ).replace('"namespace": "", ', "")
    )
    (base / "kustomization.yaml").write_text("resources: [policies.yaml]\n")
    repo.write("kustomization.yaml", f"namespace: {shop}\nresources: [../../base, ns.yaml]\n")
    repo.write(
        "ns.yaml",
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": shop, "labels": {"tier": "shop"}},
        },
    )


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_cli_validate_plan_apply_and_drift(
    repo: PolicyRepo,
    apiserver: ApiServer,
    namespaces: list[str],
    state_namespace: str,
    kube_binaries: KubeBinaries,
) -> None:
    shop, _ = namespaces
    _kustomize_repo(repo, shop)
    sha = repo.commit("kustomize overlay")
    config = str(
        repo.config(apiserver.kubeconfig_path, namespaces, state_namespace=state_namespace)
    )

    code, out = _run("validate", "-c", config, "--env", "staging")
    assert code == 0, out
    assert "valid: 3 objects" in out

    code, out = _run("plan", "-c", config, "--env", "staging")
    assert code == 0, out
    assert "2 to create, 1 to change, 0 to delete, 0 unchanged" in out  # namespace gets labels
    assert f"NetworkPolicy/{shop}/allow-web" in out and "base/policies.yaml" in out

    code, out = _run("apply", "-c", config, "--env", "staging")
    assert code == 0, out
    assert f"applied: staging is at {sha[:12]}" in out

    code, out = _run("apply", "-c", config, "--env", "staging", "-o", "json")
    data = json.loads(out)
    assert data["status"] == "unchanged" and data["requests_written"] == 0
    assert data["counts"] == {"create": 0, "update": 0, "delete": 0, "unchanged": 3}

    # Someone edits a policy by hand.
    subprocess.run(
        [
            str(kube_binaries.kubectl),
            "--kubeconfig",
            str(apiserver.kubeconfig_path),
            "-n",
            shop,
            "patch",
            "networkpolicy",
            "allow-web",
            "--type=merge",
            "-p",
            '{"spec":{"ingress":[{"ports":[{"port":22}]}]}}',
        ],
        check=True,
        capture_output=True,
    )
    code, out = _run("plan", "-c", config, "--env", "staging")
    assert code == 0, out
    assert "drift" in out and "0 to create, 1 to change" in out
    assert "spec.ingress[0].ports[0].port: 22 -> 80" in out
    code, out = _run("plan", "-c", config, "--env", "staging", "-o", "json")
    change = next(c for c in json.loads(out)["changes"] if c["action"] == "update")
    assert change["drift"] is True and change["object"] == f"NetworkPolicy/{shop}/allow-web"

    code, out = _run("apply", "-c", config, "--env", "staging")
    assert code == 0, out
    code, out = _run("plan", "-c", config, "--env", "staging")
    assert "0 to create, 0 to change, 0 to delete, 3 unchanged" in out


def test_cli_reports_a_validation_error_with_exit_3(
    repo: PolicyRepo, apiserver: ApiServer, namespaces: list[str], state_namespace: str
) -> None:
    shop, _ = namespaces
    repo.write(
        "bad.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: " + shop + "\n",
    )
    repo.commit()
    config = str(
        repo.config(apiserver.kubeconfig_path, namespaces, state_namespace=state_namespace)
    )
    result = CliRunner().invoke(cli, ["validate", "-c", config, "--env", "staging"])
    assert result.exit_code == 3
    assert f"ConfigMap/{shop}/x" in result.output and "bad.yaml" in result.output
    assert "not allowed" in result.output
