"""pr-validate.yml's lint steps, run as the Actions runner would run them.

The steps' `run:` scripts are taken from the workflow file itself and run with
the runner's default shell (`bash -e`), in a copy of the example policy
repository (one policy made wrong), with the environment a runner gives a
step: GITHUB_ACTIONS=true, GITHUB_STEP_SUMMARY and GITHUB_OUTPUT files,
GITHUB_WORKSPACE, RUNNER_TEMP, the workflow's and the step's `env:`. The
workflow commands are then read back from both streams, as the runner reads
them, and each finding must be an annotation with a file and a line that
exist in the repository; `lint.sarif` must be valid SARIF 2.1.0 with a
location per result, also when the manifests do not parse.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("kustomize") is None and shutil.which("kubectl") is None,
        reason="needs kustomize or kubectl",
    ),
]

ROOT = Path(__file__).resolve().parents[3]
WORKFLOW = yaml.safe_load((ROOT / "workflows" / "pr-validate.yml").read_text())
SCHEMA = json.loads((ROOT / "tests/support/sarif/sarif-schema-2.1.0.json").read_text())
COMMAND = re.compile(r"^::(error|warning|notice)(?: ([^:]*))?::(.*)$")
BAD = (
    "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
    "metadata: {name: wrong-except, namespace: backend}\n"
    "spec:\n  podSelector: {}\n  policyTypes: [Egress]\n"
    "  egress:\n    - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/16]}}]\n"
)


def _step(name_prefix: str) -> dict[str, Any]:
    steps = WORKFLOW["jobs"]["check"]["steps"]
    return next(s for s in steps if str(s.get("name", "")).startswith(name_prefix))


def _run_step(step: dict[str, Any], workspace: Path, environment: str) -> dict[str, Any]:
    """The step's script, as the runner runs it; its annotations, parsed."""
    temp = workspace.parent / "runner-temp"
    temp.mkdir(exist_ok=True)
    summary, output = temp / "step_summary.md", temp / "output.txt"
    summary.touch()
    output.touch()
    step_env = {
        k: str(v).replace("${{ matrix.environment }}", environment)
        for k, v in (step.get("env") or {}).items()
    }
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.defpath]),
        "HOME": str(temp),
        "LANG": "C.UTF-8",
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(output),
        "RUNNER_TEMP": str(temp),
        **{k: str(v) for k, v in WORKFLOW["env"].items()},
        **step_env,
    }
    if shutil.which("kustomize") is None:
        env["PATH"] += os.pathsep + str(Path(str(shutil.which("kubectl"))).parent)
    script = temp / "step.sh"
    script.write_text(step["run"])
    done = subprocess.run(
        ["bash", "-e", str(script)],  # the runner's default `run:` shell
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    annotations = []
    for line in (done.stdout + done.stderr).splitlines():
        match = COMMAND.match(line)
        if match:
            props = dict(p.split("=", 1) for p in (match[2] or "").split(",") if p)
            annotations.append({"level": match[1], **props, "message": match[3]})
    return {
        "code": done.returncode,
        "annotations": annotations,
        "stdout": done.stdout,
        "summary": summary.read_text(),
        "outputs": output.read_text(),
    }


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    repo = tmp_path / "workspace"
    shutil.copytree(ROOT / "examples" / "policy-repo", repo)
    with (repo / "k8s/network-policies/production/restrict-egress.yaml").open("a") as f:
        f.write(BAD)
    return repo


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_the_failing_lint_step_annotates_each_finding_with_file_and_line(
    workspace: Path,
) -> None:
    result = _run_step(_step("Fail on lint errors"), workspace, "production")
    assert result["code"] == 1
    lint_findings = [a for a in result["annotations"] if a.get("title", "").startswith("NP")]
    assert lint_findings, result
    for annotation in lint_findings:
        assert (workspace / annotation["file"]).is_file(), annotation
        assert int(annotation["line"]) >= 1, annotation
    (wrong,) = [a for a in lint_findings if "wrong-except" in a["title"]]
    source = workspace / "k8s/network-policies/production/restrict-egress.yaml"
    assert wrong["level"] == "error"
    assert wrong["file"] == "k8s/network-policies/production/restrict-egress.yaml"
    # The line of the object's document in its source file, through kustomize.
    assert int(wrong["line"]) == _line_of(source, "name: wrong-except") - 2
    # The job summary has the findings table; the step outputs count them.
    assert "### rollout policy lint" in result["summary"]
    assert "`NetworkPolicy/backend/wrong-except`" in result["summary"]
    assert "errors=1" in result["outputs"].splitlines()


def test_the_sarif_step_writes_a_valid_log_with_a_location_per_result(workspace: Path) -> None:
    result = _run_step(_step("Lint"), workspace, "production")
    assert result["code"] == 1  # error findings: the workflow uploads, then fails
    log = json.loads((workspace / "lint.sarif").read_text())
    validator = jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    assert [e.message for e in validator.iter_errors(log)] == []
    results = log["runs"][0]["results"]
    assert results
    for r in results:
        where = r["locations"][0]["physicalLocation"]
        assert (workspace / where["artifactLocation"]["uri"]).is_file()
        assert where["region"]["startLine"] >= 1


def test_a_policy_error_keeps_lint_sarif_valid_and_annotates_on_stderr(
    workspace: Path,
) -> None:
    broken = workspace / "k8s/network-policies/production/restrict-egress.yaml"
    broken.write_text("kind: NetworkPolicy\nmetadata: [\n")
    result = _run_step(_step("Lint"), workspace, "production")
    assert result["code"] == 3
    log = json.loads((workspace / "lint.sarif").read_text())
    validator = jsonschema.Draft4Validator(SCHEMA)
    assert [e.message for e in validator.iter_errors(log)] == []
    assert log["runs"][0]["invocations"][0]["executionSuccessful"] is False
    assert [a["level"] for a in result["annotations"]] == ["error"]
