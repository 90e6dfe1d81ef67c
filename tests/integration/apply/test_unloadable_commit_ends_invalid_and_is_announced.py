"""A committed manifest the YAML constructor cannot build ends the rollout
`invalid`, with the file, line and problem as the reason, announced like any
other failure: the real engine, `ClusterOps`, a real git repository and the
harness apiserver. Before: ValueError/TypeError escaped the validate step on
every tick and the rollout stayed `detected`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rollout.cluster_ops import ClusterOps
from rollout.config import load_config
from rollout.engine import RolloutEngine
from rollout.ports import Commit
from rollout.store import Store, open_store
from rollout.wiring import git_for
from tests.harness import ApiServer
from tests.integration.apply.policy_repo import PolicyRepo, policy
from tests.unit.engine.conftest import (
    Approvals,
    FakeClock,
    Gate,
    RecordingScheduler,
    announce,
)

pytestmark = pytest.mark.integration

HEADER = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
UNBUILDABLE = {
    "impossible date": (
        "metadata: {{name: p, namespace: {ns}}}\nspec:\n  since: 2026-02-30\n",
        5,
        "2026-02-30",
    ),
    "int tag on text": (
        "metadata: {{name: p, namespace: {ns}}}\nspec: {{n: !!int abc}}\n",
        4,
        "as an integer",
    ),
    "integer over 4,300 digits": (
        "metadata: {{name: p, namespace: {ns}}}\nspec: {{n: " + "7" * 4400 + "}}\n",
        4,
        "(4,400 characters) as an integer",
    ),
    "List with items: 5": (None, 1, "List.items: expected a list of objects, got int"),
    "duplicate key": (
        "metadata: {{name: p, namespace: {ns}}}\nspec: {{podSelector: {{}}}}\nspec: {{}}\n",
        5,
        "found duplicate key 'spec' (first at line 4)",
    ),
}


@pytest.fixture
def engine_over(
    repo: PolicyRepo,
    apiserver: ApiServer,
    namespaces: list[str],
    state_namespace: str,
    tmp_path: Path,
) -> Iterator[tuple[RolloutEngine, Store]]:
    config = repo.config(apiserver.kubeconfig_path, namespaces, state_namespace=state_namespace)
    settings = load_config(config)
    clock = FakeClock()
    ops = ClusterOps(settings, git_for(settings.repository), clock=clock)
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", clock=clock)
    engine = RolloutEngine(
        settings, store, ops, Gate(), Approvals(), RecordingScheduler(), announce, clock
    )
    try:
        yield engine, store
    finally:
        ops.close()
        store.close()


@pytest.mark.parametrize("body,line,problem", UNBUILDABLE.values(), ids=list(UNBUILDABLE))
def test_unloadable_manifest_ends_the_rollout_invalid(
    engine_over: tuple[RolloutEngine, Store],
    repo: PolicyRepo,
    namespaces: list[str],
    body: str | None,
    line: int,
    problem: str,
) -> None:
    engine, store = engine_over
    repo.write("good.yaml", policy("allow-web", namespaces[0]))
    text = "kind: List\napiVersion: v1\nitems: 5\n" if body is None else HEADER + body
    repo.write("broken.yaml", text.format(ns=namespaces[0]))
    sha = repo.commit("a manifest YAML cannot build")

    rollout = engine.detect(Commit(sha, "Bob", "bob@example.com", "broken"), None)
    engine.drive_all()

    record = store.get_rollout(rollout.id)
    assert record is not None
    assert record.state == "invalid"
    assert record.reason is not None
    assert f"overlays/staging/broken.yaml:{line}" in record.reason
    assert problem in record.reason
    events = [item.event for item in store.outbox_items(rollout_id=rollout.id)]
    assert events == ["rollout.detected", "rollout.validated"]
