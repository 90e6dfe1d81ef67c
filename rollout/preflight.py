"""`rollout check`: is everything in place for the service to work? (like `flux check`)

One `CheckResult` per question, each `ok`, `warn` (works, but see the detail),
`fail` (the service cannot do its job) or `skip` (an earlier check failed, or
not asked for). Per environment:

    credentials   the kubeconfig (path, context; the known contexts on a typo) loads
    reachable     the apiserver answers (its URL), within `timeout`
    version       the apiserver is Kubernetes MIN_KUBERNETES or newer
    rbac          every access of `rollout.kube.permissions` (SelfSubjectAccessReview)
    namespaces    the managed namespaces exist (warn: `rollout apply` creates them)
    state         the state namespace exists (warn: the first apply creates it)
    canary        (`--canary`) the network plugin enforces NetworkPolicy

and once: `git` (the repository answers, with its credentials, and has the
branch), `secrets` (every secret reference resolves here), `roster` (each
environment's approvals can be given by the roster as it is).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from rollout.config.schema import Environment, SecretRef, Settings
from rollout.errors import RolloutError
from rollout.kube.client import (
    ApiRefusal,
    KubeClient,
    RetryPolicy,
    api_client_for,
    kubeconfig_path,
)
from rollout.kube.permissions import AccessCheck, access_checks
from rollout.wiring import git_for

MIN_KUBERNETES = (1, 27)

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"


@dataclass(frozen=True)
class CheckResult:
    name: str
    environment: str  # "" for checks that are not about one environment
    status: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)


# A canary runs the environment's CNI canary; it is given by the caller (smoke adapters).
Canary = Callable[[Environment], CheckResult]


def run_checks(
    settings: Settings,
    *,
    base_dir: Path,
    secret_refs: list[tuple[str, SecretRef]],
    timeout: timedelta = timedelta(seconds=5),
    canary: Canary | None = None,
) -> list[CheckResult]:
    """Every check, environments in order, then git, secrets and the roster."""
    results: list[CheckResult] = []
    for env in settings.environments:
        # A fleet is checked cluster by cluster, each under its `env/cluster` name.
        for target in [f"{env.name}/{c.name}" for c in env.clusters or ()] or [env.name]:
            results += environment_checks(
                settings.target(target), timeout=timeout, canary=canary, name=target
            )
    results.append(git_check(settings, base_dir))
    results += secret_checks(secret_refs)
    results += roster_checks(settings)
    return results


def environment_checks(
    env: Environment,
    *,
    timeout: timedelta,
    canary: Canary | None = None,
    name: str | None = None,
) -> list[CheckResult]:
    name = name or env.name
    out: list[CheckResult] = []

    def skip_rest(after: str) -> list[CheckResult]:
        rest = ["reachable", "version", "rbac", "namespaces", "state", "canary"]
        rest = rest[rest.index(after) + 1 :] if after in rest else rest
        return out + [CheckResult(n, name, SKIP, "cluster not usable") for n in rest]

    try:
        api = api_client_for(env.connection(), pool_size=4)
    except RolloutError as exc:
        out.append(CheckResult("credentials", name, FAIL, exc.message))
        return skip_rest("credentials")
    where = (
        "in-cluster service account"
        if env.cluster.in_cluster
        else f"{kubeconfig_path(env.cluster)}"
        + (f", context {env.cluster.context}" if env.cluster.context else "")
    )
    out.append(CheckResult("credentials", name, OK, where))
    retry = RetryPolicy(attempts=1, deadline=timeout.total_seconds())
    with KubeClient(api, timeout=timeout, retry=retry, server_name=api.configuration.host) as kube:
        try:
            version = kube.request("GET", "/version")
        except (RolloutError, ApiRefusal) as exc:
            out.append(
                CheckResult("reachable", name, FAIL, f"{kube.server} ({where}): {_message(exc)}")
            )
            return skip_rest("reachable")
        git_version = str(version.get("gitVersion") or "")
        out.append(CheckResult("reachable", name, OK, f"{kube.server} answers"))
        out.append(_version_result(name, version, git_version))
        denied = _denied(kube, access_checks(env.namespaces, env.state_namespace))
        can_create_namespaces = not any(
            d.resource == "namespaces" and d.verb == "create" for d in denied
        )
        if denied:
            out.append(
                CheckResult(
                    "rbac",
                    name,
                    FAIL,
                    "not allowed: " + "; ".join(str(d) for d in denied),
                )
            )
        else:
            out.append(CheckResult("rbac", name, OK, "every access the service needs"))
        missing = [ns for ns in env.namespaces if not _namespace_exists(kube, ns)]
        out.append(_missing_result("namespaces", name, missing, can_create_namespaces))
        state_missing = (
            [] if _namespace_exists(kube, env.state_namespace) else [env.state_namespace]
        )
        out.append(_missing_result("state", name, state_missing, can_create_namespaces))
    if canary is None:
        out.append(CheckResult("canary", name, SKIP, "not run (pass --canary)"))
    else:
        out.append(canary(env))
    return out


def git_check(settings: Settings, base_dir: Path) -> CheckResult:
    repository = settings.repository
    try:
        git = git_for(repository, base_dir=base_dir)
        git.fetch()
        sha = git.head(repository.branch)
    except RolloutError as exc:
        return CheckResult("git", "", FAIL, exc.message)
    return CheckResult("git", "", OK, f"branch {repository.branch} at {sha[:12]}")


def secret_checks(refs: list[tuple[str, SecretRef]]) -> list[CheckResult]:
    out = []
    for path, ref in refs:
        if ref.is_available():
            continue
        problem = (
            f"environment variable {ref.env} is not set (or empty)"
            if ref.env is not None
            else f"file {ref.file} does not exist or is not a file"
        )
        out.append(CheckResult("secrets", "", FAIL, f"{path}: {problem}"))
    return out or [CheckResult("secrets", "", OK, f"{len(refs)} secret reference(s) resolve")]


def roster_checks(settings: Settings) -> list[CheckResult]:
    """Each environment's approvals must be givable by the roster as it is."""
    out = []
    members = settings.team.members
    for env in settings.environments[1:]:
        rules = env.approvals
        if rules is None:
            continue
        eligible = {
            m.name
            for m in members
            if (not rules.members and not rules.groups)
            or m.name in rules.members
            or set(m.groups) & set(rules.groups)
        }
        if len(eligible) < rules.required:
            who = ", ".join(sorted(eligible)) or "nobody"
            out.append(
                CheckResult(
                    "roster",
                    env.name,
                    FAIL,
                    f"{rules.required} approvals required, but only {who} may approve",
                )
            )
            continue
        for group, count in _risk_groups(env).items():
            in_group = [m.name for m in members if group in m.groups]
            if len(in_group) < count:
                out.append(
                    CheckResult(
                        "roster",
                        env.name,
                        FAIL,
                        f"a risk rule needs {count} from group {group}, which has "
                        f"{len(in_group)} member(s)",
                    )
                )
        if not any(c.environment == env.name for c in out):
            out.append(
                CheckResult("roster", env.name, OK, f"{len(eligible)} member(s) may approve")
            )
    return out


# --- helpers --------------------------------------------------------------------------


def _risk_groups(env: Environment) -> dict[str, int]:
    needed: dict[str, int] = {}
    for rule in env.approvals.risk_rules if env.approvals else ():
        for group, count in rule.require_groups.items():
            needed[group] = max(needed.get(group, 0), count)
    return needed


def _version_result(environment: str, version: dict[str, Any], git_version: str) -> CheckResult:
    major = _number(version.get("major"))
    minor = _number(version.get("minor"))
    shown = git_version or f"{major}.{minor}"
    if (major, minor) < MIN_KUBERNETES:
        least = ".".join(map(str, MIN_KUBERNETES))
        return CheckResult("version", environment, FAIL, f"Kubernetes {shown}; needs {least}+")
    return CheckResult("version", environment, OK, f"Kubernetes {shown}")


def _number(value: Any) -> int:
    match = re.match(r"\d+", str(value or ""))
    return int(match.group()) if match else 0


def _denied(kube: KubeClient, checks: Iterator[AccessCheck]) -> list[AccessCheck]:
    denied = []
    for check in checks:
        attributes = {"verb": check.verb, "group": check.group, "resource": check.resource}
        if check.namespace:
            attributes["namespace"] = check.namespace
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes},
        }
        try:
            answer = kube.request(
                "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body=review
            )
        except ApiRefusal:
            denied.append(check)
            continue
        if not (answer.get("status") or {}).get("allowed"):
            denied.append(check)
    return denied


def _namespace_exists(kube: KubeClient, name: str) -> bool:
    try:
        kube.request("GET", f"/api/v1/namespaces/{name}")
    except ApiRefusal as exc:
        return exc.status != 404  # forbidden to read it: the rbac check reports that
    return True


def _missing_result(
    check: str, environment: str, missing: list[str], can_create: bool
) -> CheckResult:
    if not missing:
        return CheckResult(check, environment, OK, "present")
    names = ", ".join(missing)
    if can_create:
        return CheckResult(
            check, environment, WARN, f"missing: {names} (the first `rollout apply` creates it)"
        )
    return CheckResult(
        check,
        environment,
        FAIL,
        f"missing: {names}, and not allowed to create namespaces "
        f"(kubectl create namespace {missing[0]})",
    )


def _message(exc: Exception) -> str:
    return exc.message if isinstance(exc, RolloutError | ApiRefusal) else str(exc)
