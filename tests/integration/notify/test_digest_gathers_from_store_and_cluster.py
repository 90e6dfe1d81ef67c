"""The review digest is gathered from a real store and a real apiserver: namespaces
without a deny-all baseline, policies selecting nothing, lint, drift of the deployed
revision, connectivity and rollbacks of the period; it reaches the outbox once per
channel, and never twice for one period."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from kubernetes import client as k8s

from rollout.cli.main import cli
from rollout.config import load_config
from rollout.config.schema import Settings
from rollout.digest_job import DIGEST_SENT, ReviewDigestJob
from rollout.kube.apply import KubeCluster
from rollout.kube.client import KubeClient
from rollout.render import Renderer
from rollout.revision import apply_revision, render_revision
from rollout.store import Store, open_store
from rollout.wiring import git_for, state_for
from tests.harness import ApiServer, KubeBinaries
from tests.integration.apply.policy_repo import PolicyRepo, policy
from tests.integration.notify.conftest import FakeClock

pytestmark = pytest.mark.integration

END = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)  # the scheduled instant ("0 9 1 * *")
START = END - timedelta(days=31)  # no digest before: the 31 days before it


@pytest.fixture(autouse=True)
def _harness_kustomize(kube_binaries: KubeBinaries, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLLOUT_KUSTOMIZE", f"{kube_binaries.kubectl} kustomize")


def _pod(name: str, app: str) -> k8s.V1Pod:
    return k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name=name, labels={"app": app}),
        spec=k8s.V1PodSpec(
            containers=[
                k8s.V1Container(
                    name="main",
                    image="registry.invalid/none:1",
                    ports=[k8s.V1ContainerPort(container_port=80)],
                )
            ]
        ),
    )


class World:
    def __init__(self, config: Path, guarded: str, open_ns: str, store_url: str) -> None:
        self.config = config
        self.settings: Settings = load_config(config)
        self.guarded = guarded
        self.open_ns = open_ns
        self.store_url = store_url


@pytest.fixture
def world(apiserver: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    suffix = uuid.uuid4().hex[:6]
    guarded = apiserver.create_namespace(f"guarded-{suffix}")
    open_ns = apiserver.create_namespace(f"open-{suffix}")
    state_ns = apiserver.create_namespace(f"digest-state-{suffix}")
    with apiserver.client() as api:
        core = k8s.CoreV1Api(api)
        for namespace in (guarded, open_ns):
            core.create_namespaced_pod(namespace, _pod("web", "web"))

    repo = PolicyRepo(tmp_path / "policies")
    repo.write(
        "guarded.yaml",
        policy("deny-all", guarded, app=None, ports=(), types=("Ingress", "Egress")),
        policy("allow-web", guarded, app="web", ports=(80,)),
        policy("ghost", guarded, app="ghost", ports=(8080,)),
    )
    sha = repo.commit("baseline for guarded")

    monkeypatch.setenv("DIGEST_SLACK_URL", "https://hooks.slack.invalid/services/T0/B0/x")
    monkeypatch.setenv("DIGEST_HOOK_SECRET", "digest-secret")
    monkeypatch.setenv("DIGEST_GITHUB_TOKEN", "ghp_digest")
    store_url = f"sqlite:///{tmp_path / 'state.db'}"
    config = tmp_path / "rollout.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "repository": {"path": str(repo.root)},
                "environments": [
                    {
                        "name": "staging",
                        "cluster": {
                            "kubeconfig": str(apiserver.kubeconfig_path),
                            "request_timeout": "20s",
                        },
                        "namespaces": [guarded, open_ns],
                        "overlay": repo.overlay,
                        "state_namespace": state_ns,
                    }
                ],
                "notifications": {
                    "slack": {"webhook_url": {"env": "DIGEST_SLACK_URL"}},
                    "webhooks": [
                        {
                            "name": "audit",
                            "url": "https://hooks.example.invalid/netpol",
                            "secret": {"env": "DIGEST_HOOK_SECRET"},
                        }
                    ],
                    "github": {
                        "repository": "acme/policies",
                        "token": {"env": "DIGEST_GITHUB_TOKEN"},
                    },
                },
                "store": {"url": store_url},
            }
        )
    )
    made = World(config, guarded, open_ns, store_url)
    env = made.settings.environment("staging")
    git = git_for(made.settings.repository)
    with KubeCluster(KubeClient.from_kubeconfig(apiserver.kubeconfig_path)) as cluster:
        rendered = render_revision(git, Renderer(), made.settings.repository, env, sha)
        report = apply_revision(
            cluster, state_for(env, cluster), env, rendered, now=lambda: datetime.now(UTC)
        )
        assert report.status == "applied"
        # Drift: someone widens allow-web by hand.
        cluster.client.request(
            "PATCH",
            f"/apis/networking.k8s.io/v1/namespaces/{guarded}/networkpolicies/allow-web",
            body={"spec": {"ingress": [{"ports": [{"port": 8443}]}]}},
            content_type="application/merge-patch+json",
        )
    yield made


def _connection(source: str, destination: str, port: int) -> dict[str, Any]:
    return {"from": source, "to": destination, "port": port, "protocol": "TCP", "policies": []}


def _rollout(store: Store, clock: FakeClock, at: datetime, state: str, **artifacts: Any) -> str:
    clock.now = at
    record = store.create_rollout(
        environment="staging",
        commit_sha=uuid.uuid4().hex + "00000000",
        author="Alice Example",
        author_email="alice@example.com",
        message="change",
        state="detected",
    )
    clock.now = at + timedelta(hours=1)
    store.transition(
        record.id,
        ["detected"],
        state,
        actor="system",
        channel="system",
        environment="production",
        artifacts=artifacts or None,
    )
    return record.id


def _history(store: Store, clock: FakeClock) -> None:
    """Four rollouts in the period (two reached production, two rolled back), one before."""
    _rollout(
        store,
        clock,
        START - timedelta(days=3),
        "production_applied",
        diff={"opened": [_connection("old/a", "old/b", 1)], "closed": []},
    )
    _rollout(
        store,
        clock,
        datetime(2026, 2, 5, tzinfo=UTC),
        "production_applied",
        diff={
            "opened": [
                _connection("payments/api", "ledger/db", 5432),
                _connection("batch/job", "web/api", 80),
            ],
            "closed": [_connection("legacy/cron", "ledger/db", 5432)],
        },
    )
    _rollout(
        store,
        clock,
        datetime(2026, 2, 20, tzinfo=UTC),
        "production_applied",
        diff={"opened": [], "closed": [_connection("batch/job", "web/api", 80)]},
    )
    failed = _rollout(store, clock, datetime(2026, 2, 22, tzinfo=UTC), "staging_failed")
    store.record_event(
        "rollback", actor="system", channel="system", rollout_id=failed, environment="staging"
    )
    _rollout(store, clock, datetime(2026, 2, 25, tzinfo=UTC), "production_failed")


def test_digest_gathers_from_store_and_cluster_and_is_enqueued_once(world: World) -> None:
    clock = FakeClock(START)
    store = open_store(world.store_url, clock=clock)
    try:
        _history(store, clock)
        clock.now = END + timedelta(seconds=30)
        job = ReviewDigestJob(
            world.settings, store, git_for(world.settings.repository), clock=clock
        )

        result = job.run(END)

        assert result.sent and result.digest is not None
        digest = result.digest
        assert (digest.period_start, digest.period_end) == (START, END)
        assert digest.namespaces_without_baseline == (world.open_ns,)
        assert digest.policies_selecting_nothing == (f"{world.guarded}/ghost",)
        codes = {(f.id, f.object) for f in digest.lint_findings}
        assert ("NP001", f"Namespace/{world.open_ns}") in codes
        assert ("NP002", f"Namespace/{world.open_ns}") in codes
        assert ("NP005", f"NetworkPolicy/{world.guarded}/ghost") in codes
        assert not any(loc == f"Namespace/{world.guarded}" for code, loc in codes if code < "NP003")
        assert set(digest.findings_by_severity()) <= {"error", "warning", "info"}
        # The flow opened on Feb 5 and closed again on Feb 20 cancels out.
        assert digest.connectivity_opened == ("payments/api -> ledger/db TCP 5432",)
        assert digest.connectivity_closed == ("legacy/cron -> ledger/db TCP 5432",)
        assert (digest.rollouts, digest.rollbacks) == (4, 2)
        assert [(d.environment, d.object, d.change) for d in digest.drift] == [
            ("staging", f"{world.guarded}/allow-web", "edited in cluster")
        ]

        items = [i for i in store.outbox_items() if i.event == "review.digest"]
        assert sorted(i.channel for i in items) == ["slack", "webhook:audit"]  # not GitHub
        assert {i.idempotency_key for i in items} == {
            f"global:review.digest:{channel}:20260129T090000Z-20260301T090000Z"
            for channel in ("slack", "webhook:audit")
        }
        assert result.new_deliveries == 2
        [sent] = store.events(kinds=[DIGEST_SENT])
        assert sent.details["end"] == END.isoformat()
        assert sent.details["start"] == START.isoformat()

        # A restart fires the same scheduled instant again: nothing new.
        again = ReviewDigestJob(
            world.settings, store, git_for(world.settings.repository), clock=clock
        ).run(END)
        assert not again.sent
        assert job.send(digest) == 0  # the same period enqueued again is a no-op
        assert len([i for i in store.outbox_items() if i.event == "review.digest"]) == 2

        # The next period starts where this one ended.
        assert job.period_ending(END + timedelta(days=31)) == (END, END + timedelta(days=31))
    finally:
        store.close()


def test_cli_dry_run_prints_markdown_and_enqueues_nothing(world: World) -> None:
    result = CliRunner().invoke(cli, ["digest", "-c", str(world.config), "--dry-run"])

    assert result.exit_code == 0, result.output
    assert "## NetworkPolicy review" in result.output
    assert f"- `{world.open_ns}`" in result.output
    assert f"{world.guarded}/ghost" in result.output
    assert "edited in cluster" in result.output
    store = open_store(world.store_url, clock=lambda: datetime.now(UTC))
    try:
        assert store.outbox_items() == []
        assert store.events(kinds=[DIGEST_SENT]) == []
    finally:
        store.close()


def test_cli_sends_now_to_every_channel(world: World) -> None:
    first = CliRunner().invoke(cli, ["digest", "-c", str(world.config)])

    assert first.exit_code == 0, first.output
    assert "Enqueued for slack, webhook:audit (2 new)" in first.output
    store = open_store(world.store_url, clock=lambda: datetime.now(UTC))
    try:
        [sent] = store.events(kinds=[DIGEST_SENT])
        assert (sent.actor, sent.channel) == ("cli", "cli")
        assert len(store.outbox_items()) == 2
    finally:
        store.close()
