"""`rollout plan` says who signed the revision (git's verdict, real keys made here),
and what an unsigned one means where signed commits are required; `rollout apply`
refuses it there."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import kubernetes.client as k8s
import pytest
import yaml
from click.testing import CliRunner

from rollout.cli.main import cli
from tests.harness import ApiServer
from tests.integration.apply.policy_repo import PolicyRepo, policy
from tests.support.signing import SigningKeyring, git, signing_args

pytestmark = pytest.mark.integration


@pytest.fixture
def keys(tmp_path: Path) -> Iterator[SigningKeyring]:
    folder = tmp_path / "keys"
    folder.mkdir()
    keyring = SigningKeyring(folder)
    yield keyring
    keyring.close()


def _plan(config: Path, *extra: str) -> str:
    result = CliRunner().invoke(
        cli, ["plan", "-c", str(config), "--env", "staging", *extra], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_plan_names_the_signer_or_says_the_commit_is_not_signed(
    repo: PolicyRepo,
    apiserver: ApiServer,
    namespaces: list[str],
    state_namespace: str,
    keys: SigningKeyring,
) -> None:
    shop, _ = namespaces
    alice = keys.openpgp("Alice", "alice@example.com")
    config = repo.config(apiserver.kubeconfig_path, namespaces, state_namespace=state_namespace)
    data = yaml.safe_load(config.read_text())
    data["repository"]["signing_keys"] = {"openpgp": [str(alice.public)]}
    data["environments"][0]["require_signed_commits"] = True
    config.write_text(yaml.safe_dump(data))

    repo.write("policies.yaml", policy("allow-web", shop))
    git(repo.root, "add", "-A")
    options, env = signing_args(alice)
    git(repo.root, *options, "commit", "-q", "-S", "-m", "signed", env=env)
    out = _plan(config)
    assert f"signed by Alice <alice@example.com> (openpgp key {alice.fingerprint})" in out
    answer = json.loads(_plan(config, "-o", "json"))
    assert answer["signature"]["signer"] == "Alice <alice@example.com>"
    assert answer["signature"]["verified"] is True

    repo.write("policies.yaml", policy("allow-web", shop), policy("allow-api", shop))
    sha = repo.commit("unsigned")
    out = " ".join(_plan(config).split())
    assert (
        f"signature: commit {sha[:12]} is not signed; staging takes only signed commits: "
        "a rollout of it stops before staging"
    ) in out


def test_apply_refuses_an_unsigned_commit_where_signatures_are_required(
    repo: PolicyRepo,
    apiserver: ApiServer,
    namespaces: list[str],
    state_namespace: str,
    keys: SigningKeyring,
) -> None:
    shop, _ = namespaces
    alice = keys.openpgp("Alice", "alice@example.com")
    config = repo.config(apiserver.kubeconfig_path, namespaces, state_namespace=state_namespace)
    data = yaml.safe_load(config.read_text())
    data["repository"]["signing_keys"] = {"openpgp": [str(alice.public)]}
    data["environments"][0]["require_signed_commits"] = True
    config.write_text(yaml.safe_dump(data))
    repo.write("policies.yaml", policy("allow-web", shop))
    sha = repo.commit("unsigned")
    result = CliRunner().invoke(cli, ["apply", "-c", str(config), "--env", "staging"])
    assert result.exit_code == 3, result.output
    assert (
        f"commit {sha[:12]} is not signed; staging accepts only commits signed by a key in "
        "repository.signing_keys: nothing was applied"
    ) in " ".join(result.stderr.split())
    with apiserver.client() as api:
        listed = k8s.NetworkingV1Api(api).list_namespaced_network_policy(shop)
    assert listed.items == []
