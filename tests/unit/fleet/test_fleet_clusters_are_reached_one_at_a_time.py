"""A fleet environment is reached cluster by cluster (`env/cluster`), never through a
default kube context, and a single `cluster:` environment works as before."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollout.config.loader import load_config
from rollout.errors import ConfigError

CONFIG = """
repository: {url: https://github.com/example-org/network-policies.git}
environments:
  - {name: staging, namespaces: [frontend], overlay: overlays/staging,
     cluster: {kubeconfig: kube/staging.yaml}}
  - name: production
    namespaces: [frontend]
    overlay: overlays/production
    clusters:
      - {name: eu-1, kubeconfig: kube/eu-1.yaml, region: europe, labels: {tier: canary}}
      - {name: us-1, context: us-1, region: americas, overlay: overlays/production-us}
    waves:
      - {name: canary, selector: {tier: canary}}
      - {name: americas, selector: {region: americas}, max_parallel: 3, soak: 10m,
         on_failure: wave}
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "rollout.yaml"
    path.write_text(CONFIG)
    return path


def test_a_cluster_of_a_fleet_is_its_environment_with_that_connection_and_overlay(
    config: Path,
) -> None:
    settings = load_config(config)
    eu = settings.target("production/eu-1")
    us = settings.target("production/us-1")

    assert eu.name == us.name == "production"
    assert eu.connection().kubeconfig == config.parent / "kube" / "eu-1.yaml"
    assert eu.overlay == "overlays/production"
    assert us.connection().context == "us-1"
    assert us.overlay == "overlays/production-us"
    assert not eu.is_fleet and settings.environment("production").is_fleet


def test_a_fleet_by_its_bare_name_has_no_connection(config: Path) -> None:
    settings = load_config(config)
    with pytest.raises(ConfigError, match=r"fleet of 2 cluster\(s\); name one of them: "):
        settings.environment("production").connection()
    with pytest.raises(ConfigError, match=r"no cluster 'ap-1' in environment 'production'"):
        settings.target("production/ap-1")


def test_a_single_cluster_environment_is_unchanged(config: Path) -> None:
    settings = load_config(config)
    staging = settings.target("staging")
    assert staging == settings.environment("staging")
    assert staging.connection().kubeconfig == config.parent / "kube" / "staging.yaml"


def test_the_wave_plan_follows_the_configuration(config: Path) -> None:
    plan = load_config(config).environment("production").wave_plan()
    assert [(w.name, w.clusters, w.max_parallel) for w in plan.waves] == [
        ("canary", ("eu-1",), 1),
        ("americas", ("us-1",), 3),
    ]
    assert plan.waves[1].rollback_wave and not plan.waves[0].rollback_wave
    assert plan.waves[1].soak is not None and plan.waves[1].soak.total_seconds() == 600
