"""Drive `rollout.revision` with real adapters, as the CLI does."""

from __future__ import annotations

from datetime import UTC, datetime

from rollout.core.plan import Plan
from rollout.kube.apply import KubeCluster
from rollout.kube.state import StateConfigMap
from rollout.render import Renderer
from rollout.revision import (
    ApplyReport,
    RenderedRevision,
    apply_revision,
    plan_revision,
    render_revision,
)
from rollout.wiring import git_for
from tests.integration.apply.conftest import Setup


def render(setup: Setup, sha: str) -> RenderedRevision:
    git = git_for(setup.settings.repository)
    return render_revision(git, Renderer(), setup.settings.repository, setup.env, sha)


def state(setup: Setup, cluster: KubeCluster) -> StateConfigMap:
    return StateConfigMap(
        cluster.client, namespace=setup.env.state_namespace, environment=setup.env.name
    )


def apply(setup: Setup, cluster: KubeCluster, sha: str) -> ApplyReport:
    return apply_revision(
        cluster, state(setup, cluster), setup.env, render(setup, sha), now=lambda: datetime.now(UTC)
    )


def plan(setup: Setup, cluster: KubeCluster, sha: str) -> Plan:
    return plan_revision(cluster, setup.env, render(setup, sha))
