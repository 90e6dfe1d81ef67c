"""examples/policy-repo: lint-clean, a valid config, smoke tests that hold statically.

Overlays are read as plain folders (base + overlay): kustomize is not needed
for these policies, and a test below renders them with kubectl when present
to check the kustomizations agree with the folders.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from rollout.cli.main import cli
from rollout.config import load_config
from rollout.manifests import load_manifests, split_origins
from rollout.policy import lint, load_cluster

REPO = Path(__file__).resolve().parents[3] / "examples" / "policy-repo"
POLICIES = REPO / "k8s" / "network-policies"
WORKLOADS = REPO / "workloads"
OVERLAYS = ("staging", "production")


def _objects(*paths: Path) -> list[dict[str, Any]]:
    objects, _ = split_origins(load_manifests(paths))
    # Kustomizations and smoke-tests.yaml are not Kubernetes objects.
    return [o for o in objects if o.get("kind") not in (None, "Kustomization")]


def _as_live_pods(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Deployments as the Pods a cluster would report (the pre-check reads pods)."""
    out: list[dict[str, Any]] = []
    for obj in objects:
        if obj["kind"] != "Deployment":
            out.append(obj)
            continue
        template = obj["spec"]["template"]
        metadata = {
            "name": f"{obj['metadata']['name']}-0",
            "namespace": obj["metadata"]["namespace"],
            "labels": template["metadata"]["labels"],
        }
        out.append({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, **template})
        out[-1]["metadata"] = metadata
    return out


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_overlay_with_workloads_has_no_lint_findings(overlay: str) -> None:
    objects, origins = split_origins(
        load_manifests([POLICIES / "base", POLICIES / overlay, WORKLOADS])
    )
    model = load_cluster(objects, origins=origins)
    findings = lint(model, ["frontend", "backend", "database"])
    assert [f"{f.severity} {f.id} {f.object}: {f.message}" for f in findings] == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_policy_lint_command_exits_zero(overlay: str) -> None:
    paths = [str(POLICIES / "base"), str(POLICIES / overlay), str(WORKLOADS)]
    result = CliRunner().invoke(cli, ["policy", "lint", *paths])
    assert result.exit_code == 0, result.output
    assert "error" not in result.output.lower()


def test_no_namespace_selector_on_a_name_label() -> None:
    """The guide's copy-paste mistake: namespaces carry no `name` label."""

    def selectors(node: Any) -> list[dict[str, Any]]:
        if isinstance(node, dict):
            found = [node["namespaceSelector"]] if "namespaceSelector" in node else []
            return found + [s for v in node.values() for s in selectors(v)]
        if isinstance(node, list):
            return [s for v in node for s in selectors(v)]
        return []

    policies = [o for o in _objects(POLICIES) if o["kind"] == "NetworkPolicy"]
    assert policies
    for policy in policies:
        for selector in selectors(policy):
            assert "name" not in (selector.get("matchLabels") or {}), policy["metadata"]


def test_workloads_are_not_inside_the_overlays() -> None:
    kinds = {o["kind"] for o in _objects(POLICIES)}
    assert kinds <= {"NetworkPolicy", "Namespace"}
    assert {o["kind"] for o in _objects(WORKLOADS)} >= {"Deployment", "Service"}


def test_rollout_yaml_passes_config_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(cli, ["config", "check", "rollout.yaml"])
    assert result.exit_code == 0, result.output
    settings = load_config(REPO / "rollout.yaml", environ={})
    assert [e.name for e in settings.environments] == ["staging", "production"]
    for env in settings.environments:
        assert (POLICIES / env.overlay / "kustomization.yaml").is_file()
    production = settings.environment("production")
    assert production.approvals is not None and production.approvals.required >= 2
    assert production.windows is not None


def test_smoke_tests_file_parses_for_every_environment() -> None:
    spec_module = pytest.importorskip("rollout.smoke.spec")
    spec = spec_module.load_smoke_file(POLICIES / "smoke-tests.yaml")
    for overlay in OVERLAYS:
        suite = spec_module.suite_for(spec, overlay)
        assert suite.expectations, overlay


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_smoke_expectations_hold_statically(overlay: str) -> None:
    """The pre-check the orchestrator runs before probing agrees with the policies."""
    spec_module = pytest.importorskip("rollout.smoke.spec")
    plan_module = pytest.importorskip("rollout.smoke.plan")
    precheck_module = pytest.importorskip("rollout.smoke.precheck")
    settings = load_config(REPO / "rollout.yaml", environ={})
    env = settings.environment(overlay)
    spec = spec_module.load_smoke_file(POLICIES / "smoke-tests.yaml")
    suite = spec_module.suite_for(spec, overlay)
    plan = plan_module.build_plan(suite, env.namespaces, 5.0)
    desired = _objects(POLICIES / "base", POLICIES / overlay)
    default_ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}
    live = [*_as_live_pods(_objects(WORKLOADS)), default_ns]
    results = precheck_module.static_precheck(plan, desired, live)
    failed = [f"{r.name}: {r.message}" for r in results if not r.ok]
    assert failed == []
    judged = {r.name for r in results if r.outcome == "passed"}
    assert "frontend-to-api" in judged


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not on PATH")
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kustomize_renders_the_same_objects_as_the_folders(overlay: str) -> None:
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(POLICIES / overlay)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout

    def keys(objects: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
        return {
            (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in objects
        }

    from_kustomize = [d for d in yaml.safe_load_all(rendered) if d]
    assert keys(from_kustomize) == keys(_objects(POLICIES / "base", POLICIES / overlay))
