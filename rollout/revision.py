"""Make one environment's cluster match one git revision, safely.

The use case the CLI and the service both call. It takes its adapters as
parameters (the ports below) and builds none; `rollout.wiring` builds real ones.
It never touches the state store: results come back as data (`ApplyReport`)
and the caller records them.

    render_revision   git sha -> tree -> overlay -> manifests -> static checks
    validate_revision + server-side dry run of the whole set (nothing written)
    plan_revision     live objects -> create/update/delete/unchanged + order
    apply_revision    plan -> dry run -> pending marker -> phased apply + prune
                      -> deployed marker (only when every object landed)
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from rollout.config.schema import Environment, Repository
from rollout.core.objects import (
    NAMESPACE,
    DesiredObject,
    Manifest,
    ObjectKey,
    desired_object,
    set_content_hash,
)
from rollout.core.plan import Plan, Write, compute_plan
from rollout.core.validation import Problem, check_manifests, require_valid
from rollout.errors import ValidationError
from rollout.manifests import load_manifests
from rollout.policy.validity import object_problems

JSON = dict[str, Any]


# --- ports ------------------------------------------------------------------------


class GitSource(Protocol):
    def resolve(self, rev: str) -> str: ...
    def head(self, branch: str) -> str: ...
    def export_tree(self, sha: str, dest: Path, *, subdirectory: str | None = None) -> Path: ...


class ManifestRenderer(Protocol):
    def render(self, directory: Path, *, root: Path | None = None) -> list[Manifest]: ...


class RefusalLike(Protocol):
    @property
    def key(self) -> ObjectKey: ...
    @property
    def reason(self) -> str: ...
    @property
    def missing_namespace(self) -> str | None: ...


class ExecutionLike(Protocol):
    applied: list[ObjectKey]
    deleted: list[ObjectKey]
    refused: Any
    complete: bool


class Cluster(Protocol):
    def live_objects(
        self,
        desired: Sequence[DesiredObject],
        *,
        namespaces: Iterable[str],
        allowed_kinds: Iterable[str],
        environment: str,
    ) -> tuple[dict[ObjectKey, JSON], dict[ObjectKey, JSON]]: ...
    def dry_run(self, bodies: Sequence[Mapping[str, Any]]) -> Sequence[RefusalLike]: ...
    def dry_run_deletes(self, objects: Sequence[Mapping[str, Any]]) -> Sequence[RefusalLike]: ...
    def execute(
        self, plan: Plan, *, on_write: Callable[[Write, Any], None] | None = None
    ) -> ExecutionLike: ...


class DeployedLike(Protocol):
    @property
    def commit_sha(self) -> str | None: ...
    @property
    def content_hash(self) -> str | None: ...
    @property
    def pending_sha(self) -> str | None: ...


class DeployedRevisionRecord(Protocol):
    def read(self) -> DeployedLike | None: ...
    def mark_pending(self, current: Any, sha: str, now: datetime) -> None: ...
    def record_deployed(
        self, sha: str, content_hash: str, now: datetime, rollout_id: str | None = None
    ) -> None: ...


# --- results ----------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedRevision:
    """One environment's desired objects at one commit."""

    environment: str
    sha: str
    manifests: tuple[Manifest, ...]
    desired: tuple[DesiredObject, ...]
    content_hash: str


@dataclass
class ApplyReport:
    """The outcome of `apply_revision`; `status` is applied, unchanged or failed."""

    environment: str
    sha: str
    content_hash: str
    plan: Plan
    status: str
    previous_sha: str | None
    applied: list[ObjectKey] = field(default_factory=list)
    deleted: list[ObjectKey] = field(default_factory=list)
    refused: list[tuple[ObjectKey, str]] = field(default_factory=list)
    recorded: bool = False


# --- use cases --------------------------------------------------------------------


def resolve_revision(git: GitSource, repository: Repository, rev: str | None) -> str:
    """`rev` as a full sha; the configured branch head when `rev` is None."""
    return git.resolve(rev) if rev else git.head(repository.branch)


def render_revision(
    git: GitSource,
    renderer: ManifestRenderer,
    repository: Repository,
    env: Environment,
    sha: str,
    *,
    workdir: Path | None = None,
) -> RenderedRevision:
    """Render `env`'s overlay at `sha` and run the static checks.

    Raises GitError (revision/tree), ValidationError (YAML, kustomize, missing
    fields, duplicates, kinds outside the allow-list, unmanaged namespaces).
    """
    with tempfile.TemporaryDirectory(prefix="netpol-rev-", dir=workdir) as tmp:
        root = Path(tmp)
        git.export_tree(sha, root, subdirectory=repository.subdirectory)
        manifests = _render_overlay(renderer, repository, env, root, at=f"at {sha[:12]}")
    return _checked(manifests, env, sha, what=f"revision {sha[:12]} for {env.name}")


def read_workloads(
    git: GitSource, env: Environment, sha: str, *, workdir: Path | None = None
) -> list[dict[str, Any]]:
    """The objects of `env.workloads` (a repository folder) at `sha`; [] when unset.

    Raises GitError (no such folder at `sha`) and ValidationError (a file that
    is not YAML, naming it and the line).
    """
    if not env.workloads:
        return []
    folder = env.workloads.strip("/")
    with tempfile.TemporaryDirectory(prefix="netpol-workloads-", dir=workdir) as tmp:
        root = Path(tmp)
        git.export_tree(sha, root, subdirectory=folder)
        manifests = load_manifests([root / folder], root=root, error=ValidationError)
    return [dict(m.obj) for m in manifests if isinstance(m.obj, Mapping) and m.obj.get("kind")]


def render_worktree(
    root: Path,
    renderer: ManifestRenderer,
    repository: Repository,
    env: Environment,
    *,
    head_sha: str,
) -> RenderedRevision:
    """Render `env`'s overlay from the files under `root` as they are now (edits not yet
    committed included) and run the static checks; the objects carry `head_sha`.

    Raises ValidationError as `render_revision` does.
    """
    manifests = _render_overlay(renderer, repository, env, root, at="in the working tree")
    return _checked(manifests, env, head_sha, what=f"the working tree for {env.name}")


def _render_overlay(
    renderer: ManifestRenderer, repository: Repository, env: Environment, root: Path, *, at: str
) -> list[Manifest]:
    overlay = root / repository.subdirectory / env.overlay
    if not overlay.is_dir():
        raise ValidationError(
            f"overlay {repository.subdirectory}/{env.overlay} of environment {env.name} "
            f"does not exist {at}"
        )
    return renderer.render(overlay, root=root)


def _checked(
    manifests: list[Manifest], env: Environment, sha: str, *, what: str
) -> RenderedRevision:
    """The static checks (ours, then what the apiserver would refuse); ValidationError."""
    problems = check_manifests(
        manifests, allowed_kinds=env.allowed_kinds, namespaces=env.namespaces
    ) + [
        Problem(str(m.key), m.where(), message)
        for m in manifests
        if isinstance(m.obj, dict)
        for message in object_problems(m.obj)
    ]
    require_valid(problems, what=what)
    desired = tuple(desired_object(m, environment=env.name, commit_sha=sha) for m in manifests)
    return RenderedRevision(
        env.name, sha, tuple(manifests), desired, set_content_hash(list(desired))
    )


def validate_revision(cluster: Cluster, rendered: RenderedRevision) -> list[ObjectKey]:
    """Server-side dry run of every object; ValidationError listing the refusals.

    Objects in a namespace this revision creates cannot be dry-run before the
    namespace exists; they are returned (the apply creates the namespace
    first and then writes them, so the apiserver checks them there).
    """
    refusals = cluster.dry_run([d.body for d in rendered.desired])
    return _require_dry_run(refusals, rendered, "")


def plan_revision(cluster: Cluster, env: Environment, rendered: RenderedRevision) -> Plan:
    """What applying `rendered` would do now (including drift made by hand)."""
    live, prunable = cluster.live_objects(
        rendered.desired,
        namespaces=env.namespaces,
        allowed_kinds=env.allowed_kinds,
        environment=env.name,
    )
    return compute_plan(rendered.desired, live, prunable, prune=env.prune)


def apply_revision(
    cluster: Cluster,
    state: DeployedRevisionRecord,
    env: Environment,
    rendered: RenderedRevision,
    *,
    now: Callable[[], datetime],
    rollout_id: str | None = None,
    on_write: Callable[[Write, Any], None] | None = None,
) -> ApplyReport:
    """Apply `rendered` to `env`'s cluster in outage-free order, then prune.

    Namespaces the revision declares are created when missing (first phase;
    namespaces are never deleted), so `plan` and `apply` agree on a fresh
    cluster. Nothing is written unless the server-side dry run accepts every object
    (ValidationError otherwise). A refusal during the apply returns a report
    with status "failed" and the refusals; the revision is recorded as
    deployed only when every write landed. Re-running converges.
    ClusterError when the apiserver stays unreachable after retries.
    """
    current = state.read()
    plan = plan_revision(cluster, env, rendered)
    report = ApplyReport(
        env.name,
        rendered.sha,
        rendered.content_hash,
        plan,
        status="unchanged",
        previous_sha=current.commit_sha if current else None,
    )
    if plan.writes:
        refusals = list(cluster.dry_run([d.body for d in rendered.desired]))
        refusals += cluster.dry_run_deletes(
            [w.change.live for w in plan.writes if w.is_delete and w.change.live is not None]
        )
        _require_dry_run(refusals, rendered, "; nothing was written")
        state.mark_pending(current, rendered.sha, now())
        result = cluster.execute(plan, on_write=on_write)
        report.applied, report.deleted = list(result.applied), list(result.deleted)
        report.refused = [(r.key, r.reason) for r in result.refused]
        if not result.complete or report.refused:
            report.status = "failed"
            return report
        report.status = "applied"
    already = (
        current is not None
        and current.commit_sha == rendered.sha
        and current.content_hash == rendered.content_hash
        and not current.pending_sha
    )
    if not already:
        state.record_deployed(rendered.sha, rendered.content_hash, now(), rollout_id)
        report.recorded = True
    return report


def created_namespaces(rendered: RenderedRevision) -> set[str]:
    """The Namespaces the revision declares (the apply creates those that are missing)."""
    return {d.key.name for d in rendered.desired if (d.key.group, d.key.kind) == NAMESPACE}


def _require_dry_run(
    refusals: Sequence[RefusalLike], rendered: RenderedRevision, tail: str
) -> list[ObjectKey]:
    """Raise for the refusals; return the objects deferred to a namespace we create."""
    declared = created_namespaces(rendered)
    deferred = sorted(r.key for r in refusals if r.missing_namespace in declared)
    refusals = [r for r in refusals if r.missing_namespace not in declared]
    if not refusals:
        return deferred
    sources = {d.key: d.manifest.where() for d in rendered.desired}
    details = [
        f"{r.key} ({sources.get(r.key, 'live object')}): {r.reason}"
        for r in sorted(refusals, key=lambda r: r.key)
    ]
    raise ValidationError(
        f"the cluster refused {len(details)} object(s) of {rendered.sha[:12]} "
        f"in a server-side dry run{tail}",
        details=details,
    )
