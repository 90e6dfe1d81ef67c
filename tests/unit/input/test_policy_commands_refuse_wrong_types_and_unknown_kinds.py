"""`policy lint` and `policy matrix` refuse objects they would have misread: an
unserved apiVersion, a near-miss or non-string kind, a list for a namespace, and
wrong types anywhere in Pods, workloads, Services and selectors. Each is exit 3
with a message naming the object and field, never a traceback, and never exit 1
(which `policy lint` keeps for findings). Before: `networking.k8s.io/v9` was
analysed as a NetworkPolicy, `NetworkPolicyy` and `kind: 5` were ignored with
"No findings.", `namespace: [a]` became a namespace named "['a']", and the wrong
types raised TypeError or AttributeError (exit 1 with a traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from rollout.cli.main import cli


def _obj(api: str, kind: str, name: str, spec: str) -> str:
    return (
        f"apiVersion: {api}\nkind: {kind}\nmetadata: {{name: {name}, namespace: a}}\nspec: {spec}\n"
    )


POLICY = _obj("networking.k8s.io/v1", "NetworkPolicy", "p", "{podSelector: {}}")
POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: a, labels: {app: web}}\n"

CASES = {
    "unserved apiVersion": (
        POLICY.replace("/v1", "/v9"),
        "apiVersion 'networking.k8s.io/v9' does not serve NetworkPolicy",
    ),
    "near-miss kind": (
        POLICY.replace("NetworkPolicy\n", "NetworkPolicyy\n"),
        "did you mean NetworkPolicy?",
    ),
    "lower-case kind": (
        POLICY.replace("NetworkPolicy\n", "networkpolicy\n"),
        "did you mean NetworkPolicy?",
    ),
    "non-string kind": (
        POLICY.replace("kind: NetworkPolicy", "kind: 5"),
        "kind: expected a string, got a int 5",
    ),
    "namespace list": (
        POLICY.replace("namespace: a", "namespace: [a]"),
        "metadata.namespace: expected a string, got a list",
    ),
    "Pod spec a list": (POD + "spec: [a]\n", "Pod/a/web: spec: expected a mapping, got a list"),
    "container a string": (
        POD + "spec: {containers: [web]}\n",
        "spec.containers[0]: expected a mapping, got a string",
    ),
    "list-valued port name": (
        POD + "spec: {containers: [{name: c, ports: [{containerPort: 80, name: [http]}]}]}\n",
        "spec.containers[0].ports[0].name: expected a string, got a list",
    ),
    "label value a list": (
        POD.replace("{app: web}", "{app: [web]}") + "spec: {}\n",
        "app: expected a string, got a list",
    ),
    "non-string label key": (
        POD.replace("{app: web}", "{1: web}") + "spec: {}\n",
        "key 1 is not a string",
    ),
    "Deployment template a list": (
        _obj("apps/v1", "Deployment", "d", "{template: [x]}"),
        "Deployment/a/d: spec.template: expected a mapping, got a list",
    ),
    "CronJob jobTemplate a string": (
        _obj("batch/v1", "CronJob", "c", "{jobTemplate: x}"),
        "CronJob/a/c: spec.jobTemplate: expected a mapping, got a string",
    ),
    "Service ports a number": (
        _obj("v1", "Service", "s", "{ports: 5}"),
        "Service/a/s: spec.ports: expected a list, got a int",
    ),
    "Service targetPort a list": (
        _obj("v1", "Service", "s", "{ports: [{port: 80, targetPort: [1]}]}"),
        "spec.ports[0].targetPort: expected a port number or name, got a list",
    ),
    "Service selector a list": (
        _obj("v1", "Service", "s", "{selector: [app]}"),
        "Service/a/s: spec.selector: expected a mapping, got a list",
    ),
    "selector with a non-string key": (
        POLICY.replace("podSelector: {}", "podSelector: {1: x}"),
        "unknown selector field(s) 1",
    ),
    "matchExpressions value a list": (
        POLICY.replace(
            "podSelector: {}",
            "podSelector: {matchExpressions: [{key: a, operator: In, values: [[b]]}]}",
        ),
        "matchExpressions[0].values[0]: expected a string, got list",
    ),
}


@pytest.mark.parametrize("command", ["lint", "matrix"])
@pytest.mark.parametrize("text,message", CASES.values(), ids=list(CASES))
def test_refused_with_exit_3_naming_object_and_field(
    tmp_path: Path, command: str, text: str, message: str
) -> None:
    (tmp_path / "objects.yaml").write_text(text)
    result = CliRunner().invoke(
        cli, ["policy", command, str(tmp_path)], env={"GITHUB_ACTIONS": None}
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 3, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_kinds_the_engine_ignores_stay_ignored(tmp_path: Path) -> None:
    (tmp_path / "objects.yaml").write_text(
        POLICY + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: a}\n"
        "---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: s, namespace: a}\n"
    )
    result = CliRunner().invoke(cli, ["policy", "lint", str(tmp_path)])
    assert result.exit_code in (0, 1), result.output
