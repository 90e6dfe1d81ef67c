"""deploy/: rbac.yaml is exactly what `rollout rbac` derives from deploy/rollout.yaml,
the configuration loads, and every Secret key the Deployment reads is one the
configuration references (and the other way round)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from rollout.cli.main import cli
from rollout.config import load_config

DEPLOY = Path(__file__).parents[3] / "deploy"
ENV = {
    "ROLLOUT_REPOSITORY_URL": "https://git.example.com/network-policies.git",
    "ROLLOUT_STORE_URL": "postgresql://netpol@db/netpol",
}


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


def test_rbac_yaml_is_generated_from_the_deploy_configuration() -> None:
    result = CliRunner().invoke(
        cli, ["rbac", "-c", "deploy/rollout.yaml", "--probe-namespace", "default"]
    )
    assert result.exit_code == 0, result.output
    assert (DEPLOY / "rbac.yaml").read_text() == result.output, (
        "regenerate: rollout rbac -c deploy/rollout.yaml --probe-namespace default "
        "> deploy/rbac.yaml"
    )


def test_the_deploy_configuration_loads_and_shares_its_session_key() -> None:
    settings = load_config(DEPLOY / "rollout.yaml")
    assert settings.server.leader_election
    assert settings.server.session_key is not None
    assert settings.server.session_key.env == "ROLLOUT_SESSION_KEY"


def test_every_environment_variable_the_config_reads_comes_from_the_deployment() -> None:
    config = (DEPLOY / "rollout.yaml").read_text()
    wanted = set(re.findall(r"\$\{(\w+)", config)) | set(re.findall(r"env: (\w+)", config))
    deployment = next(
        d
        for d in yaml.safe_load_all((DEPLOY / "deployment.yaml").read_text())
        if d["kind"] == "Deployment"
    )
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    given = {e["name"] for e in container["env"] if "secretKeyRef" in e.get("valueFrom", {})}
    assert wanted == given


def test_the_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"]) | {
        f for g in kustomization["configMapGenerator"] for f in g["files"]
    }
    present = {p.name for p in DEPLOY.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present
