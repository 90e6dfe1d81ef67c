"""`rollout.ports.EnvironmentOps` on real clusters, built from the configuration.

Renders a commit with kustomize, validates and applies it through the kube
adapter, runs the environment's smoke tests and analyses what a change opens;
the connections come from the builders in :mod:`rollout.wiring`.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

from rollout.config.schema import Environment, Settings
from rollout.core.objects import set_content_hash
from rollout.errors import GitError, RolloutError, ValidationError
from rollout.gitwatch import GitRepository
from rollout.kube.apply import KubeCluster
from rollout.kube.client import api_client_for
from rollout.kube.probes import ProbePods
from rollout.ports import ChangeAnalysis, Clock, StageResult
from rollout.render import Renderer
from rollout.revision import (
    RenderedRevision,
    apply_revision,
    read_workloads,
    render_revision,
    validate_revision,
)
from rollout.smoke.suite import run_environment_smoke, smoke_file_path
from rollout.smoke.suite import stage_result as smoke_stage_result
from rollout.wiring import change_analysis, cluster_for, live_snapshot, state_for


class ClusterOps:
    """`rollout.ports.EnvironmentOps` on real clusters: one connection per environment.

    An operation's `environment` is an environment's name, or `env/cluster`
    for one cluster of a fleet (`Settings.target`): that cluster's connection
    and overlay. A fleet environment by its bare name is refused (ConfigError).

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
        env = self._settings.target(environment)
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
        env = self._settings.target(environment)
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
            api = api_client_for(env.connection(), pool_size=env.smoke.parallelism + 2)
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
        env = self._settings.target(environment)
        try:
            new = self._render(env, new_sha)
            old = self._render(env, old_sha) if old_sha else None
            # The repository's workloads at the commit analysed, where configured.
            workloads = read_workloads(self._git, env, new_sha) if env.workloads else None
            live = live_snapshot(env, old, new, workloads=workloads)
            return change_analysis(env, live, old, new, now=self._clock())
        except RolloutError as exc:
            error = {"error": exc.message}
            return ChangeAnalysis(error, {"findings": []}, {"opened": []})


def _nothing(env: Environment) -> RenderedRevision:
    """The empty revision: applying it prunes everything we manage (rollback to nothing)."""
    return RenderedRevision(env.name, "", (), (), set_content_hash([]))
