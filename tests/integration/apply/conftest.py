from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from rollout.config import load_config
from rollout.config.schema import Environment, Settings
from rollout.kube.apply import KubeCluster
from rollout.kube.client import KubeClient
from tests.harness import ApiServer, KubeBinaries
from tests.integration.apply.policy_repo import PolicyRepo


@pytest.fixture(autouse=True)
def _harness_kustomize(kube_binaries: KubeBinaries, monkeypatch: pytest.MonkeyPatch) -> None:
    # The harness kubectl embeds kustomize; CI machines have no other.
    monkeypatch.setenv("ROLLOUT_KUSTOMIZE", f"{kube_binaries.kubectl} kustomize")


@pytest.fixture
def namespaces(apiserver: ApiServer) -> list[str]:
    suffix = uuid.uuid4().hex[:6]
    return [apiserver.create_namespace(f"{n}-{suffix}") for n in ("shop", "pay")]


@pytest.fixture
def state_namespace(apiserver: ApiServer) -> str:
    return apiserver.create_namespace(f"rollout-state-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def repo(tmp_path: Path) -> PolicyRepo:
    return PolicyRepo(tmp_path / "policies")


class Setup:
    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path
        self.settings: Settings = load_config(config_path)
        self.env: Environment = self.settings.environment("staging")


@pytest.fixture
def setup(
    repo: PolicyRepo, apiserver: ApiServer, namespaces: list[str], state_namespace: str
) -> Setup:
    return Setup(
        repo.config(apiserver.kubeconfig_path, namespaces, state_namespace=state_namespace)
    )


@pytest.fixture
def cluster(apiserver: ApiServer) -> Iterator[KubeCluster]:
    with KubeCluster(KubeClient.from_kubeconfig(apiserver.kubeconfig_path)) as adapter:
        yield adapter
