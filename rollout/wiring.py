"""The only place that builds real adapters from the configuration."""

from __future__ import annotations

import base64
import json
import tempfile
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rollout.approvals_service import ApprovalsService
from rollout.config.schema import Environment, Repository, Settings
from rollout.core.approvals import ApprovalStatus, OpenedConnection
from rollout.core.events import (
    ApprovalSummary,
    DiffSummary,
    EventType,
    RolloutEvent,
    SmokeSummary,
)
from rollout.core.events import CommitInfo as EventCommit
from rollout.core.events import Window as EventWindow
from rollout.core.objects import set_content_hash
from rollout.core.windows import GateRules, is_usable, next_usable_start
from rollout.engine import Announcer
from rollout.errors import GitError, RolloutError, ValidationError
from rollout.gitwatch import GitRepository
from rollout.kube.apply import KubeCluster
from rollout.kube.client import KubeClient, api_client_for
from rollout.kube.probes import ProbePods
from rollout.kube.snapshot import read_snapshot
from rollout.kube.state import StateConfigMap
from rollout.notify.outbox import build_outbox_items, channels_for
from rollout.policy import (
    Connection,
    ConnectivityDiff,
    Finding,
    connectivity_diff,
    lint,
    load_cluster,
)
from rollout.policy.report import diff_json
from rollout.ports import ChangeAnalysis, StageResult
from rollout.render import Renderer
from rollout.revision import RenderedRevision, apply_revision, render_revision, validate_revision
from rollout.smoke.suite import run_environment_smoke, smoke_file_path
from rollout.smoke.suite import stage_result as smoke_stage_result
from rollout.store import Store, open_store
from rollout.store.records import OutboxItem as StoreOutboxItem
from rollout.store.records import RolloutRecord
from rollout.windows_rules import gate_rules, years_between

Clock = Callable[[], datetime]


def cluster_for(env: Environment) -> KubeCluster:
    """A cluster adapter for `env` (close it after use). ConfigError on bad credentials."""
    return KubeCluster(KubeClient.from_ref(env.cluster))


def state_for(env: Environment, cluster: KubeCluster) -> StateConfigMap:
    """The deployed-revision ConfigMap of `env`, through `cluster`'s connection."""
    return StateConfigMap(cluster.client, namespace=env.state_namespace, environment=env.name)


def git_for(repository: Repository, *, base_dir: Path | None = None) -> GitRepository:
    """The policy repository; credentials go through git's environment, never the URL."""
    env: dict[str, str] = {}
    creds = repository.credentials
    if creds is not None and creds.token is not None:
        basic = base64.b64encode(f"{creds.username}:{creds.token.resolve()}".encode()).decode()
        env.update(
            {
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "http.extraHeader",
                "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
            }
        )
    if creds is not None and creds.ssh_key is not None and creds.ssh_key.file is not None:
        env["GIT_SSH_COMMAND"] = f"ssh -i {creds.ssh_key.file} -o IdentitiesOnly=yes"
    if repository.path is not None:
        path = repository.path if base_dir is None else base_dir / repository.path
        return GitRepository(path=path, env=env)
    return GitRepository(url=repository.url, env=env)


def renderer() -> Renderer:
    return Renderer()


# --- the service's adapters (netpol-rollout serve) ------------------------------------


def open_state_store(settings: Settings, clock: Clock) -> Store:
    return open_store(settings.store.url, clock=clock)


class ClusterOps:
    """`rollout.ports.EnvironmentOps` on real clusters: one connection per environment.

    Problems a commit causes (render, validation, dry-run refusals, failed
    smoke checks) come back as a failed StageResult; an unreachable cluster
    raises ClusterError, so the engine retries the step instead of failing
    the rollout.
    """

    def __init__(
        self,
        settings: Settings,
        git: GitRepository,
        *,
        clock: Clock,
        render: Renderer | None = None,
    ) -> None:
        self._settings = settings
        self._git = git
        self._clock = clock
        self._renderer = render or Renderer()
        self._clusters: dict[str, KubeCluster] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            for cluster in self._clusters.values():
                cluster.close()
            self._clusters.clear()

    def _cluster(self, environment: str) -> tuple[Environment, KubeCluster]:
        env = self._settings.environment(environment)
        with self._lock:
            if environment not in self._clusters:
                self._clusters[environment] = cluster_for(env)
            return env, self._clusters[environment]

    def _render(self, env: Environment, sha: str) -> RenderedRevision:
        return render_revision(self._git, self._renderer, self._settings.repository, env, sha)

    def validate(self, environment: str, sha: str) -> StageResult:
        env, cluster = self._cluster(environment)
        try:
            rendered = self._render(env, sha)
            validate_revision(cluster, rendered)
        except (ValidationError, GitError) as exc:
            return StageResult(False, exc.message, {"problems": list(exc.details)})
        return StageResult(
            True,
            f"{len(rendered.desired)} object(s) valid for {env.name}",
            {"content_hash": rendered.content_hash, "objects": len(rendered.desired)},
        )

    def apply(self, environment: str, sha: str, rollout_id: str) -> StageResult:
        env, cluster = self._cluster(environment)
        try:
            rendered = self._render(env, sha) if sha else _nothing(env)
            report = apply_revision(
                cluster,
                state_for(env, cluster),
                env,
                rendered,
                now=self._clock,
                rollout_id=rollout_id,
            )
        except (ValidationError, GitError) as exc:
            return StageResult(False, exc.message, {"problems": list(exc.details)})
        details = {
            "content_hash": report.content_hash,
            "status": report.status,
            "counts": dict(report.plan.counts),
            "applied": [str(k) for k in report.applied],
            "deleted": [str(k) for k in report.deleted],
            "refused": [f"{k}: {r}" for k, r in report.refused],
        }
        if report.status == "failed":
            return StageResult(
                False, f"{len(report.refused)} object(s) refused by {env.name}", details
            )
        verb = "applied" if report.status == "applied" else "already up to date"
        return StageResult(True, f"{env.name} {verb} at {sha[:12] or 'nothing'}", details)

    def deployed_sha(self, environment: str) -> str | None:
        env, cluster = self._cluster(environment)
        current = state_for(env, cluster).read()
        if current is None or current.pending_sha:
            return None
        return current.commit_sha

    def rollback(self, environment: str, to_sha: str | None, rollout_id: str) -> StageResult:
        return self.apply(environment, to_sha or "", rollout_id)

    def smoke(self, environment: str, sha: str, rollout_id: str) -> StageResult:
        env = self._settings.environment(environment)
        if not env.smoke.enabled:
            return StageResult(True, f"smoke tests disabled for {env.name}")
        with tempfile.TemporaryDirectory(prefix="netpol-smoke-") as tmp:
            checkout = Path(tmp)
            try:
                self._git.export_tree(
                    sha, checkout, subdirectory=self._settings.repository.subdirectory
                )
            except GitError as exc:
                return StageResult(False, exc.message)
            spec = smoke_file_path(self._settings, checkout)
            if not spec.is_file():
                return StageResult(True, f"no {spec.name} in the revision; nothing to test")
            api = api_client_for(env.cluster, pool_size=env.smoke.parallelism + 2)
            try:
                report = run_environment_smoke(
                    env,
                    spec,
                    ProbePods(api, request_timeout=env.cluster.request_timeout.total_seconds()),
                    rollout_id=rollout_id,
                    commit_sha=sha,
                    kubeconfig=str(env.cluster.kubeconfig or ""),
                    script_cwd=checkout,
                    now=self._clock,
                )
            except ValidationError as exc:
                return StageResult(False, exc.message, {"problems": list(exc.details)})
            finally:
                api.close()
        return smoke_stage_result(report)

    def analyse(self, environment: str, old_sha: str | None, new_sha: str) -> ChangeAnalysis:
        env = self._settings.environment(environment)
        try:
            new = self._render(env, new_sha)
            old = self._render(env, old_sha) if old_sha else None
            return change_analysis(env, live_snapshot(env), old, new)
        except RolloutError as exc:
            error = {"error": exc.message}
            return ChangeAnalysis(error, {"findings": []}, {"opened": []})


def _nothing(env: Environment) -> RenderedRevision:
    """The empty revision: applying it prunes everything we manage (rollback to nothing)."""
    return RenderedRevision(env.name, "", (), (), set_content_hash([]))


def live_snapshot(env: Environment) -> list[dict[str, Any]]:
    """Namespaces, workloads and services of the environment's managed namespaces."""
    api = api_client_for(env.cluster, pool_size=4)
    try:
        return read_snapshot(api, namespaces=list(env.namespaces))
    finally:
        api.close()


def connectivity_change(
    live: list[dict[str, Any]], old: RenderedRevision | None, new: RenderedRevision
) -> ConnectivityDiff:
    """What traffic going from `old` (None: no policies of ours) to `new` opens and closes."""
    old_objects = [dict(m.obj) for m in old.manifests] if old else []
    before = load_cluster(live + old_objects)
    after = load_cluster(live + [dict(m.obj) for m in new.manifests])
    return connectivity_diff(before, after)


def change_analysis(
    env: Environment,
    live: list[dict[str, Any]],
    old: RenderedRevision | None,
    new: RenderedRevision,
) -> ChangeAnalysis:
    """Connectivity diff, lint and the opened connections risk rules look at."""
    diff = connectivity_change(live, old, new)
    after = load_cluster(live + [dict(m.obj) for m in new.manifests])
    opened = [_opened(c).to_json() for c in diff.opened]
    findings = lint(after, env.namespaces)
    return ChangeAnalysis(
        diff={
            # The policy engine's JSON shape (the dashboard draws it), plus the
            # lines notifications lead with.
            **json.loads(diff_json(diff)),
            "riskiest": [f"+ {_describe(c)}" for c in diff.opened[:10]]
            + [f"- {_describe(c)}" for c in diff.closed[:10]],
        },
        lint={"findings": [_finding(f) for f in findings]},
        risk={"opened": opened},
    )


def _describe(c: Connection) -> str:
    return f"{c.from_ns}/{c.from_name} -> {c.to_ns}/{c.to_name} {c.protocol}/{c.port}"


def _opened(c: Connection) -> OpenedConnection:
    external = c.to_labels_or_external if isinstance(c.to_labels_or_external, str) else None
    return OpenedConnection(
        from_namespace=c.from_ns or None,
        from_name=c.from_name,
        to_namespace=c.to_ns or None,
        to_name=c.to_name,
        to_namespace_labels=dict(c.to_namespace_labels),
        to_pod_labels={}
        if isinstance(c.to_labels_or_external, str)
        else dict(c.to_labels_or_external),
        cross_namespace=bool(c.cross_namespace),
        external_cidr=external,
        port=str(c.port),
        protocol=c.protocol,
        policies=tuple(c.policies),
    )


def _finding(f: Finding) -> dict[str, Any]:
    return {"severity": f.severity, "code": f.id, "message": f.message, "location": f.object}


class WindowGateRules:
    """`rollout.ports.WindowGate` from the configured windows (rules cached per year span)."""

    HORIZON = timedelta(days=60)

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._cache: dict[tuple[str, int, int], GateRules] = {}

    def _rules(self, environment: str, now: datetime) -> GateRules:
        years = years_between(now - timedelta(days=1), now + self.HORIZON)
        key = (environment, years.start, years.stop)
        if key not in self._cache:
            self._cache[key] = gate_rules(self._settings, environment, years=years)
        return self._cache[key]

    def usable_now(self, environment: str, now: datetime) -> bool:
        return is_usable(self._rules(environment, now), now)

    def next_start(self, environment: str, now: datetime) -> datetime | None:
        return next_usable_start(self._rules(environment, now), now, horizon=self.HORIZON)


class ApprovalGate:
    """`rollout.ports.ApprovalCheck` through the approvals service's pure rules."""

    def __init__(self, service: ApprovalsService) -> None:
        self._service = service

    def granted(self, rollout_id: str, environment: str, now: datetime) -> tuple[bool, str]:
        rollout = self._service.rollout(rollout_id)
        status = self._service.status(rollout)
        if status is None:
            return True, f"{environment} needs no approvals"
        return status.granted, status.summary()


def announcer(
    settings: Settings,
    clock: Clock,
    approval_status: Callable[[RolloutRecord], ApprovalStatus | None] | None = None,
) -> Announcer:
    """Turn (rollout, event, details) into the outbox rows of every subscribed channel.

    `approval_status` gives who approved and who is still needed (the Slack
    buttons are drawn while someone is); without it, only the configured
    requirement is known.
    """

    def announce(
        rollout: RolloutRecord, event: str, details: Mapping[str, Any]
    ) -> list[StoreOutboxItem]:
        try:
            kind = EventType(event)
        except ValueError:
            return []  # an internal event no channel subscribes to
        env = settings.environment(rollout.environment)
        scheduled = str(details.get("at", "")) if kind is EventType.PRODUCTION_SCHEDULED else ""
        base = (settings.server.public_url or "").rstrip("/")
        rollout_event = RolloutEvent(
            type=kind,
            occurred_at=clock(),
            rollout_id=rollout.id,
            environment=rollout.environment,
            commit=EventCommit(rollout.commit_sha, rollout.author, rollout.message),
            diff=_diff_summary(rollout.diff),
            smoke=_smoke_summary(rollout.smoke, rollout.environment),
            next_window=_window(scheduled),
            approvals=_approvals(settings, rollout, kind, approval_status),
            reason=rollout.reason or _text(details.get("summary")),
            actor=_text(details.get("actor")),
            url=f"{base}/api/v1/rollouts/{rollout.id}" if base else None,
            sequence=scheduled or None,
        )
        channels = channels_for(kind, settings.notifications, env.notify)
        return [
            StoreOutboxItem(i.channel, i.event, i.idempotency_key, i.payload, i.rollout_id)
            for i in build_outbox_items(rollout_event, channels)
        ]

    return announce


def _approvals(
    settings: Settings,
    rollout: RolloutRecord,
    kind: EventType,
    approval_status: Callable[[RolloutRecord], ApprovalStatus | None] | None,
) -> ApprovalSummary | None:
    rules = settings.environment(rollout.environment).approvals
    if rules is None:
        return None
    status = approval_status(rollout) if approval_status is not None else None
    if status is not None:
        pending = () if status.granted else (status.summary(),)
        if rollout.state != "awaiting_approval":
            pending = ()
        return ApprovalSummary(status.required, status.approvers, pending)
    if kind is not EventType.APPROVAL_REQUESTED:
        return ApprovalSummary(rules.required)
    who = ", ".join([*rules.members, *(f"group {g}" for g in rules.groups)]) or "the team"
    return ApprovalSummary(rules.required, (), (f"{rules.required} approval(s) from {who}",))


def _text(value: Any) -> str | None:
    return str(value) if value else None


def _diff_summary(diff: Any) -> DiffSummary | None:
    if not isinstance(diff, Mapping) or "opened" not in diff:
        return None
    opened, closed = diff.get("opened", ()), diff.get("closed", ())
    return DiffSummary(
        len(opened) if isinstance(opened, list) else int(opened),
        len(closed) if isinstance(closed, list) else int(closed),
        tuple(diff.get("riskiest", ())),
    )


def _smoke_summary(smoke: Any, environment: str) -> SmokeSummary | None:
    entry = smoke.get(environment) if isinstance(smoke, Mapping) else None
    if not isinstance(entry, Mapping):
        return None
    report = entry.get("report") or {}
    counts = report.get("counts") or {}
    failures = tuple(
        f"{r.get('name')}: {r.get('message')}"
        for r in report.get("results", ())
        if r.get("outcome") in ("failed", "error")
    )
    passed = int(counts.get("passed", 0))
    return SmokeSummary(passed, len(failures), failures)


def _window(at: str) -> EventWindow | None:
    if not at:
        return None
    start = datetime.fromisoformat(at)
    return EventWindow(start, start + timedelta(minutes=30))
