"""`rollout demo`'s good commit is clean: `policy lint` finds nothing, as the demo says.

The first commit lets the frontend scrape the API's metrics port (9090); the
example's API exposed only 8080, so lint rightly warned (NP008, "port 9090/TCP
is exposed by no container") and the demo printed "lint: 1 finding" on the
commit it presents as good. The example's API now serves its metrics on 9090.
The second commit's typo (`backnd`) is what lint and the smoke tests catch.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from rollout.cli.main import cli
from rollout.demo.scenario import GOOD, SUBDIRECTORY, TEMPLATE
from tests.harness import KubeBinaries

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).parents[2] / "examples" / "policy-repo"


@pytest.mark.parametrize("source", [EXAMPLE, TEMPLATE], ids=["example", "demo-template"])
def test_the_good_commit_has_no_lint_findings(
    source: Path, kube_binaries: KubeBinaries, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROLLOUT_KUSTOMIZE", f"{kube_binaries.kubectl} kustomize")
    repo = tmp_path / "repo"
    shutil.copytree(source, repo)
    (repo / "rollout.yaml").touch()  # the kustomize root
    GOOD.edit(repo / SUBDIRECTORY)
    for overlay in ("staging", "production"):
        paths = [str(repo / SUBDIRECTORY / overlay), str(repo / "workloads")]
        result = CliRunner().invoke(cli, ["policy", "lint", *paths, "-o", "json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["findings"] == [], result.output
