"""The `rollout policy` commands on a small repository, pinned by golden files.

Regenerate the golden files with `UPDATE_GOLDEN=1 pytest tests/unit/policy`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from rollout.cli.main import cli

DATA = Path(__file__).parent / "data"
GOLDEN = Path(__file__).parent / "golden"
OLD, NEW = str(DATA / "old"), str(DATA / "new")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["policy", *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output.replace(str(DATA), "DATA")


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}; run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("matrix.txt", ["matrix", NEW]),
        ("matrix-5432.csv", ["matrix", NEW, "--port", "5432/TCP", "-o", "csv"]),
        ("matrix-5432.md", ["matrix", NEW, "--port", "5432/TCP", "-o", "markdown"]),
        (
            "explain-denied.txt",
            ["explain", NEW, "--from", "shop/db", "--to", "shop/web", "--port", "8080/TCP"],
        ),
        (
            "explain-allowed.txt",
            ["explain", NEW, "--from", "ops/backup", "--to", "shop/db", "--port", "5432/TCP"],
        ),
        ("diff.txt", ["diff", OLD, NEW]),
        ("diff.md", ["diff", OLD, NEW, "-o", "markdown"]),
        ("lint.txt", ["lint", NEW]),
    ],
)
def test_rendered_output(name: str, args: list[str]) -> None:
    code, out = run(*args)
    assert code == 0, out
    check_golden(name, out)


def test_matrix_json_lists_every_ordered_pair_per_port() -> None:
    code, out = run("matrix", NEW, "--port", "5432/TCP", "--port", "8080", "-o", "json")
    assert code == 0
    conns = json.loads(out)["connections"]
    assert len(conns) == 3 * 3 * 2
    assert set(conns[0]) == {"from", "to", "port", "protocol", "allowed"}
    lookup = {(c["from"], c["to"], c["port"]): c["allowed"] for c in conns}
    assert lookup[("ops/backup", "shop/db", 5432)] is True
    assert lookup[("shop/web", "shop/db", 8080)] is False
    assert lookup[("shop/db", "shop/db", 8080)] is True  # self


def test_diff_json_carries_what_risk_rules_need() -> None:
    code, out = run("diff", OLD, NEW, "-o", "json")
    assert code == 0
    opened = json.loads(out)["opened"]
    external = [c for c in opened if c["to_external"]]
    assert external and external[0]["to"].startswith("0.0.0.0/0")
    internal = next(c for c in opened if not c["to_external"])
    assert internal["cross_namespace"] and internal["to_namespace_labels"]["env"] == "prod"


def test_lint_exits_1_on_error_findings_and_emits_sarif(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(
        "kind: NetworkPolicy\nmetadata: {name: deny, namespace: shop}\n"
        "spec: {podSelector: {}, policyTypes: [Egress]}\n"
    )
    code, out = run("lint", str(tmp_path), "-o", "sarif")
    assert code == 1
    sarif = json.loads(out)
    assert "NP003" in {r["ruleId"] for r in sarif["runs"][0]["results"]}


def test_bad_port_argument_is_an_input_error() -> None:
    code, out = run("explain", NEW, "--from", "shop/web", "--to", "shop/db", "--port", "http")
    assert code == 2 and "expected NUMBER" in out


def test_unknown_endpoint_is_a_clear_error() -> None:
    code, out = run("explain", NEW, "--from", "shop/nope", "--to", "shop/db", "--port", "80")
    assert code == 3 and "shop/nope" in out


def test_diff_needs_two_folders_or_two_revisions() -> None:
    code, out = run("diff", OLD)
    assert code == 2 and "OLD and NEW" in out
    code, out = run("diff", "--rev", "a")
    assert code == 2 and "exactly two revisions" in out


def test_explain_to_a_service_maps_the_service_port_to_the_target_port() -> None:
    code, out = run(
        "explain", NEW, "--from", "ops/backup", "--to", "shop/postgres", "--port", "5000/TCP"
    )
    assert code == 0, out
    assert "ops/backup -> shop/db on 5432/TCP: ALLOWED" in out


def test_large_matrix_table_summarises_per_source(tmp_path: Path) -> None:
    pods = "".join(
        f"---\nkind: Pod\nmetadata: {{name: p{i}, namespace: a}}\nspec: {{}}\n" for i in range(35)
    )
    (tmp_path / "pods.yaml").write_text(pods)
    code, out = run("matrix", str(tmp_path), "--port", "80")
    assert code == 0 and "a/p34" in out and "35" in out
