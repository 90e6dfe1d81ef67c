"""One environment's smoke run, from settings to report, and its verdict for the engine.

`run_environment_smoke` is what `rollout smoke` and the engine's
`EnvironmentOps.smoke` call; `stage_result` turns the report into the
engine's `StageResult` (details = the JSON report, stored with the rollout).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from rollout.config.schema import Environment, Settings
from rollout.ports import StageResult
from rollout.smoke.plan import SmokePlan, build_plan
from rollout.smoke.results import SmokeReport
from rollout.smoke.runner import Precheck, ProbeCluster, RunOptions, run_smoke_suite
from rollout.smoke.scripts import ScriptRun
from rollout.smoke.spec import SmokeFile, load_smoke_file, suite_for


def smoke_file_path(settings: Settings, checkout: Path) -> Path:
    """Where `smoke-tests.yaml` lives in a checkout of the policy repository."""
    repo = settings.repository
    return checkout / repo.subdirectory / repo.smoke_tests_file


def plan_for(env: Environment, spec: SmokeFile, *, file: str = "smoke-tests.yaml") -> SmokePlan:
    """The probe plan `env` runs (ValidationError for bad names in the spec)."""
    smoke = env.smoke
    suite = suite_for(
        spec, env.name, dns_check=smoke.dns_check, cni_canary=smoke.cni_canary, file=file
    )
    return build_plan(suite, env.namespaces, smoke.timeout.total_seconds())


def options_for(
    env: Environment,
    *,
    rollout_id: str = "",
    commit_sha: str = "",
    kubeconfig: str = "",
    script_cwd: Path | None = None,
) -> RunOptions:
    smoke = env.smoke
    scripts = tuple(
        ScriptRun(
            name=s.name or s.command,
            command=s.command,
            timeout=s.timeout.total_seconds(),
            environment=env.name,
            kubeconfig=kubeconfig,
            rollout_id=rollout_id,
            commit_sha=commit_sha,
        )
        for s in smoke.scripts
    )
    return RunOptions(
        environment=env.name,
        image=smoke.image,
        start_timeout=smoke.start_timeout.total_seconds(),
        parallelism=smoke.parallelism,
        settle=smoke.settle.total_seconds(),
        rollout_id=rollout_id,
        commit_sha=commit_sha,
        kubeconfig=kubeconfig,
        scripts=scripts,
        script_cwd=script_cwd,
    )


def run_environment_smoke(
    env: Environment,
    spec_path: Path,
    cluster: ProbeCluster,
    *,
    rollout_id: str = "",
    commit_sha: str = "",
    kubeconfig: str = "",
    script_cwd: Path | None = None,
    precheck: Precheck | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    progress: Callable[[str], None] = lambda _line: None,
) -> SmokeReport:
    """Load the spec at `spec_path`, plan and run `env`'s smoke tests; the report.

    Raises ValidationError (bad spec), ClusterError (the run itself refused),
    KeyboardInterrupt (after cleanup). Failed checks are in the report. With
    `smoke.enabled: false` nothing runs and the (empty) report passes.
    """
    if not env.smoke.enabled:
        at = now()
        note = f"smoke tests are disabled for {env.name} (smoke.enabled: false)"
        return SmokeReport(
            env.name, "", at, at, (), rollout_id=rollout_id, commit_sha=commit_sha, notes=(note,)
        )
    plan = plan_for(env, load_smoke_file(spec_path), file=spec_path.name)
    options = options_for(
        env,
        rollout_id=rollout_id,
        commit_sha=commit_sha,
        kubeconfig=kubeconfig,
        script_cwd=script_cwd,
    )
    return run_smoke_suite(plan, cluster, options, precheck=precheck, now=now, progress=progress)


def stage_result(report: SmokeReport) -> StageResult:
    """The engine's verdict: ok, one summary line (failing checks named), the JSON report."""
    summary = report.summary()
    failing = [r.name for r in report.failures]
    if failing:
        shown = ", ".join(failing[:5]) + (
            f" and {len(failing) - 5} more" if len(failing) > 5 else ""
        )
        summary = f"{summary}; failing: {shown}"
    return StageResult(ok=report.passed, summary=summary, details=report.to_dict())
