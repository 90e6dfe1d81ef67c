"""The only place that builds real adapters from the configuration.

The engine's operations on real clusters are in :mod:`rollout.cluster_ops`
(built on the builders here) and its announcer in :mod:`rollout.announce`.
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import shlex
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rollout.announce import announcer
from rollout.approvals_service import ApprovalsService
from rollout.config.schema import Environment, ObservedFlows, Repository, SecretRef, Settings
from rollout.core.approvals import OpenedConnection
from rollout.core.windows import GateRules, is_usable, next_usable_start
from rollout.findings import findings_to_json
from rollout.flow_sources import expand, read_into
from rollout.flows import FlowAggregator, PodDirectory, replay, replay_summary
from rollout.gitwatch import GitRepository
from rollout.kube.apply import KubeCluster
from rollout.kube.client import KubeClient, api_client_for
from rollout.kube.snapshot import read_namespaced, read_namespaces
from rollout.kube.state import StateConfigMap
from rollout.manifests import split_origins
from rollout.policy import (
    ClusterModel,
    Connection,
    ConnectivityDiff,
    connectivity_diff,
    lint,
    load_cluster,
)
from rollout.policy.peers import peer_namespaces
from rollout.policy.report import diff_json
from rollout.ports import ChangeAnalysis, CommitCheck, StageResult
from rollout.render import Renderer
from rollout.revision import RenderedRevision
from rollout.signatures import CommitSignature, CommitVerifier
from rollout.store import Store, open_store
from rollout.windows_rules import gate_rules, years_between

__all__ = [
    "ApprovalGate",
    "WindowGateRules",
    "announcer",  # re-exported from rollout.announce
    "change_analysis",
    "cluster_for",
    "connectivity_change",
    "git_for",
    "live_snapshot",
    "open_state_store",
    "renderer",
    "state_for",
    "unjudged_namespaces",
]

Clock = Callable[[], datetime]


def cluster_for(env: Environment) -> KubeCluster:
    """A cluster adapter for `env` (close it after use). ConfigError on bad credentials."""
    return KubeCluster(KubeClient.from_ref(env.connection()))


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
    if creds is not None and creds.ssh_key is not None:
        key = shlex.quote(str(_ssh_key_file(creds.ssh_key)))
        env["GIT_SSH_COMMAND"] = f"ssh -i {key} -o IdentitiesOnly=yes"
    if repository.path is not None:
        path = repository.path if base_dir is None else base_dir / repository.path
        return GitRepository(path=path, env=env)
    return GitRepository(url=repository.url, env=env)


def commit_signature(
    settings: Settings, git: GitRepository, sha: str, *, base_dir: Path | None = None
) -> CommitSignature | None:
    """Who signed `sha`, as git verifies it against `repository.signing_keys` (None: no keys)."""
    keys = settings.repository.signing_keys
    if keys is None:
        return None
    return CommitVerifier(keys, base_dir=base_dir).verify(git.path, sha)


def signature_check(
    settings: Settings, git: GitRepository, *, base_dir: Path | None = None
) -> CommitCheck | None:
    """Who signed each commit (with `repository.signing_keys`); None without keys.

    The verdict fails only when an environment requires signed commits: the
    commit is then stopped before it is applied anywhere.
    """
    keys = settings.repository.signing_keys
    if keys is None:
        return None
    verifier = CommitVerifier(keys, base_dir=base_dir)
    requiring = [env.name for env in settings.environments if env.require_signed_commits]

    def check(sha: str) -> StageResult:
        signature = verifier.verify(git.path, sha)
        details = {"signature": signature.to_json()}
        if signature.verified or not requiring:
            return StageResult(True, signature.describe(), details)
        return StageResult(
            False,
            f"{signature.describe()}; {', '.join(requiring)} "
            f"{'accepts' if len(requiring) == 1 else 'accept'} only commits signed by a key "
            "in repository.signing_keys",
            details,
        )

    return check


def _ssh_key_file(ref: SecretRef) -> Path:
    """ssh reads keys from files: an `{env}` key goes to a private file removed at exit."""
    if ref.file is not None:
        return ref.file
    fd, name = tempfile.mkstemp(prefix="netpol-rollout-ssh-")  # created 0600
    with os.fdopen(fd, "w") as key:
        key.write(ref.resolve().rstrip("\n") + "\n")
    atexit.register(Path(name).unlink, missing_ok=True)
    return Path(name)


def renderer() -> Renderer:
    return Renderer()


def cni_canary(env: Environment) -> tuple[bool, str]:
    """Run only `env`'s CNI canary (a probe the default deny must block): (passed, why)."""
    from rollout.kube.probes import ProbePods
    from rollout.smoke.suite import run_environment_smoke

    with tempfile.TemporaryDirectory(prefix="netpol-canary-") as tmp:
        spec = Path(tmp) / "smoke-tests.yaml"
        spec.write_text(f"environments:\n  {env.name}:\n    disable: [dns]\n")
        api = api_client_for(env.connection(), pool_size=4)
        try:
            probes = ProbePods(api, request_timeout=env.cluster.request_timeout.total_seconds())
            report = run_environment_smoke(env, spec, probes, script_cwd=Path(tmp))
        finally:
            api.close()
    canaries = [r for r in report.results if r.kind == "canary"]
    if not canaries:
        return False, "the canary did not run (smoke.enabled: false?)"
    return all(r.ok for r in canaries), "; ".join(r.message for r in canaries)


# --- the service's adapters (netpol-rollout serve) ------------------------------------


def open_state_store(settings: Settings, clock: Clock) -> Store:
    return open_store(settings.store.url, clock=clock)


def live_snapshot(
    env: Environment,
    *revisions: RenderedRevision | None,
    include_policies: bool = False,
    workloads: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Namespaces, and the pods and Services of every namespace a policy may select.

    The policies are those of `revisions` (and with `include_policies` those
    live in `env`'s namespaces, returned too). Their peers reach beyond the
    managed namespaces (kube-system's DNS, an ingress controller), and lint
    and the diff judge a policy by the pods there, as `rollout policy lint`
    does with the repository's workloads. With `workloads` (the objects of
    `env.workloads`, see `rollout.revision.read_workloads`) those stand for
    the namespaces and pods, and the cluster is read only for its live
    policies (and the namespaces the workloads do not declare). Raises
    ClusterError.
    """
    if workloads is not None and not include_policies:
        return list(workloads)
    api = api_client_for(env.connection(), pool_size=4)
    try:
        namespaces = read_namespaces(api)
        live_policies = (
            read_namespaced(api, list(env.namespaces), ("NetworkPolicy",))
            if include_policies
            else []
        )
        if workloads is not None:
            declared = {_name(o) for o in workloads if o.get("kind") == "Namespace"}
            undeclared = [n for n in namespaces if _name(n) not in declared]
            return undeclared + live_policies + list(workloads)
        policies = [dict(m.obj) for r in revisions if r is not None for m in r.manifests]
        wanted = peer_namespaces(
            load_cluster(namespaces + live_policies + policies), env.namespaces
        )
        return namespaces + live_policies + read_namespaced(api, wanted)
    finally:
        api.close()


def _name(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata")
    return str(meta.get("name", "")) if isinstance(meta, dict) else ""


def unjudged_namespaces(
    live: list[dict[str, Any]], old: RenderedRevision | None, new: RenderedRevision
) -> list[str]:
    """Namespaces whose policies change (old -> new) but where no pod runs: the diff,
    which compares verdicts between running pods, cannot tell what changes there."""
    before, after = _policy_specs(old), _policy_specs(new)
    changed = {
        ns for ns, name in {*before, *after} if before.get((ns, name)) != after.get((ns, name))
    }
    running = {
        str(o.get("metadata", {}).get("namespace", ""))
        for o in live
        if o.get("kind") in ("Pod", "Deployment", "StatefulSet", "DaemonSet")
    }
    return sorted(changed - running)


def _policy_specs(revision: RenderedRevision | None) -> dict[tuple[str, str], Any]:
    return {
        (m.key.namespace or "", m.key.name): m.obj.get("spec")
        for m in (revision.manifests if revision else ())
        if m.obj.get("kind") == "NetworkPolicy"
    }


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
    *,
    now: datetime | None = None,
) -> ChangeAnalysis:
    """Connectivity diff, lint, the replay of observed flows, and what risk rules look at."""
    diff = connectivity_change(live, old, new)
    objects, origins = split_origins(new.manifests)
    after = load_cluster(live + objects, origins=[f"cluster {env.name}"] * len(live) + origins)
    opened = [_opened(c).to_json() for c in diff.opened]
    findings = lint(after, env.namespaces)
    risk: dict[str, Any] = {"opened": opened}
    replayed: dict[str, Any] = {}
    if env.observed_flows is not None:
        old_objects = [dict(m.obj) for m in old.manifests] if old else []
        replayed = observed_flows_replay(
            env.observed_flows, live, load_cluster(live + old_objects), after, now=now
        )
        risk["cut_flows"] = replayed["cut"]
        risk["observed_window"] = replayed["window"]
    return ChangeAnalysis(
        diff={
            # The policy engine's JSON shape (the dashboard draws it), plus the
            # lines notifications lead with.
            **json.loads(diff_json(diff)),
            "riskiest": [f"+ {_describe(c)}" for c in diff.opened[:10]]
            + [f"- {_describe(c)}" for c in diff.closed[:10]],
            **({"observed_flows": replayed} if replayed else {}),
        },
        lint=findings_to_json(findings),
        risk=risk,
    )


def observed_flows_replay(
    observed: ObservedFlows,
    live: list[dict[str, Any]],
    before: ClusterModel,
    after: ClusterModel,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The environment's observed flows replayed from `before` to `after` (the summary JSON)."""
    workloads = [
        {"kind": ep.kind, "metadata": {"namespace": ep.namespace, "name": ep.name}}
        for ep in (*before.endpoints, *after.endpoints)
        if ep.kind not in ("Pod", "External")
    ]
    directory = PodDirectory(live + workloads, cluster_cidrs=observed.cluster_cidrs)
    since = (now or datetime.now(UTC)) - observed.window
    aggregator = FlowAggregator(directory, since=since)
    read_into(aggregator, expand(observed.sources))
    result = aggregator.result()
    replayed = replay(result.flows, before, after, pod_ip_in_ipblock=observed.pod_ip_in_ipblock)
    return replay_summary(replayed, result, window=format_duration(observed.window))


def format_duration(span: timedelta) -> str:
    """`7d`, `36h`, `90m` or `45s`: the largest unit that divides the span."""
    seconds = int(span.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _describe(c: Connection) -> str:
    return f"{c.from_ns}/{c.from_name} -> {c.to_ns}/{c.to_name} {c.protocol} {c.ports_text}"


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
        port=None if c.ports_text == "all" else c.ports_text,
        protocol=c.protocol,
        policies=tuple(c.policies),
    )


class WindowGateRules:
    """`rollout.ports.WindowGate` from the configured windows (rules cached per year span);
    a fleet's wave follows its own `windows` when it has them."""

    HORIZON = timedelta(days=60)

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._cache: dict[tuple[str, str | None, int, int], GateRules] = {}

    def _rules(self, environment: str, now: datetime, wave: str | None) -> GateRules:
        years = years_between(now - timedelta(days=1), now + self.HORIZON)
        key = (environment, wave, years.start, years.stop)
        if key not in self._cache:
            self._cache[key] = gate_rules(self._settings, environment, years=years, wave=wave)
        return self._cache[key]

    def usable_now(self, environment: str, now: datetime, *, wave: str | None = None) -> bool:
        return is_usable(self._rules(environment, now, wave), now)

    def next_start(
        self, environment: str, now: datetime, *, wave: str | None = None
    ) -> datetime | None:
        return next_usable_start(self._rules(environment, now, wave), now, horizon=self.HORIZON)


class ApprovalGate:
    """`rollout.ports.ApprovalCheck` through the approvals service's pure rules."""

    def __init__(self, service: ApprovalsService) -> None:
        self._service = service

    def granted(self, rollout_id: str, environment: str, now: datetime) -> tuple[bool, str]:
        """`environment` is the rollout's environment, or `env/wave` for the further
        approval before a fleet's wave."""
        rollout = self._service.rollout(rollout_id)
        name, _, wave_name = environment.partition("/")
        if wave_name:
            wave = self._service.environment(name).wave(wave_name)
            if wave is None or wave.approvals is None:
                return True, f"wave {wave_name} needs no further approval"
            wave_status = self._service.wave_status(rollout, wave)
            return wave_status.granted, wave_status.summary()
        status = self._service.status(rollout)
        if status is None:
            return True, f"{environment} needs no approvals"
        return status.granted, status.summary()
