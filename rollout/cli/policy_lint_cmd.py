"""`rollout policy lint`: findings with stable IDs, where a pull request shows them.

- `-o text` prints one line per finding; inside GitHub Actions each finding
  is also an annotation (`::error`, `::warning` or `::notice` with file and
  line) on standard error, so it marks the changed line of the pull request.
- `-o json` and `-o sarif` write the document alone to standard output, and
  nothing else: errors and annotations go to standard error. When the
  manifests cannot be read (exit 3), `-o sarif` still writes a valid SARIF
  log saying the run failed, so `> lint.sarif` is never a broken file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from rollout.cli.actions import annotate, in_actions, report_to_actions
from rollout.cli.exits import error_location
from rollout.cli.options import MACHINE_FORMATS, as_format, output_option
from rollout.cli.output import emit
from rollout.cli.policy_inputs import build_model, pod_ip_option
from rollout.errors import RolloutError
from rollout.manifests import YAML_SUFFIXES
from rollout.policy import lint, report
from rollout.policy.lint import Finding
from rollout.policy.sarif import failed_run_sarif, findings_sarif, split_location
from rollout.render import KUSTOMIZATION_FILES

_ANNOTATION_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}

EXAMPLES = """\b
Examples:
  rollout policy lint k8s/network-policies/production workloads
  rollout policy lint k8s/network-policies/staging -o sarif > lint.sarif
  rollout policy lint policies/ --managed-namespace shop -o json
"""


def fallback_location(paths: tuple[str, ...]) -> str:
    """Where a finding read from no file points: the first file of what was linted."""
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            return path.as_posix()
        for name in KUSTOMIZATION_FILES:
            if (path / name).is_file():
                return (path / name).as_posix()
        if path.is_dir():
            files = sorted(f for f in path.rglob("*") if f.is_file() and f.suffix in YAML_SUFFIXES)
            if files:
                return files[0].as_posix()
    return ""


def annotate_findings(findings: list[Finding], fallback: str) -> None:
    """One Actions annotation per finding, with the file and line it came from."""
    for f in findings:
        file, line = split_location(f.origin)
        if not file or file.startswith("cluster "):
            file, line = split_location(fallback)
        annotate(
            _ANNOTATION_LEVEL[f.severity],
            f"{f.object}: {f.message}",
            file or None,
            (line or 1) if file else None,
            f"{f.id} {f.object}",
        )


@click.command(name="lint", epilog=EXAMPLES)
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--managed-namespace",
    "managed",
    multiple=True,
    metavar="NS",
    help="Namespace that must have default-deny baselines (repeatable).",
)
@pod_ip_option
@output_option("sarif")
def lint_cmd(
    paths: tuple[str, ...], managed: tuple[str, ...], pod_ip_in_ipblock: bool, output: str
) -> None:
    """Findings with stable IDs; exit 1 when an error-level finding exists."""
    from rollout import __version__

    fallback = fallback_location(paths)
    try:
        model = build_model(paths)
    except RolloutError as exc:
        if output == "sarif":
            file, line = error_location(exc)
            emit(failed_run_sarif(str(exc), __version__, file=file, line=line))
        raise
    findings = lint(model, managed or None, pod_ip_in_ipblock=pod_ip_in_ipblock)
    if output in MACHINE_FORMATS:
        emit(as_format(output, report.findings_json(findings)))
    elif output == "sarif":
        emit(findings_sarif(findings, __version__, fallback=fallback))
    else:
        emit(report.findings_text(findings))
        if in_actions():
            annotate_findings(findings, fallback)
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = sum(1 for f in findings if f.severity == "warning")
    report_to_actions(
        "policy lint",
        report.findings_markdown(findings),
        {"errors": errors, "warnings": warnings, "clean": not findings},
    )
    if errors:
        sys.exit(1)
