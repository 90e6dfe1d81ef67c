"""Lint findings as SARIF 2.1.0, the format GitHub code scanning reads. PURE.

GitHub shows a result only where it has a location, so every result gets one:
the file and line the object was read from (through kustomize, the source
file and the line of its document), else `fallback` (the overlay's
kustomization or the file that was linted, line 1), which the CLI chooses. A
run that could not finish (the manifests do not parse) is still a valid SARIF
log: `invocations[0].executionSuccessful` is false and the error is a
notification with its file and line, so `-o sarif > lint.sarif` never leaves
a broken file for the upload step.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rollout.policy.lint import RULES, Finding

__all__ = ["SCHEMA_URI", "failed_run_sarif", "findings_sarif", "split_location"]

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def split_location(origin: str) -> tuple[str, int | None]:
    """(`file`, line) of `file.yaml:12`; (`file`, None) without a line; ("", None) if empty."""
    file, _, line = origin.rpartition(":")
    if file and line.isdigit():
        return file, int(line)
    return origin, None


def _location(origin: str, fallback: str) -> dict[str, Any] | None:
    file, line = split_location(origin)
    if not file or file.startswith("cluster "):  # read from a live cluster: no file
        file, line = split_location(fallback)
    if not file:
        return None
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": file},
            "region": {"startLine": line or 1},
        }
    }


def _log(results: list[dict[str, Any]], tool_version: str, **run: Any) -> str:
    rules = [
        {
            "id": rid,
            "shortDescription": {"text": title},
            "defaultConfiguration": {"level": _LEVEL[sev]},
        }
        for rid, (sev, title) in sorted(RULES.items())
    ]
    driver = {"name": "netpol-rollout", "version": tool_version, "rules": rules}
    return json.dumps(
        {
            "$schema": SCHEMA_URI,
            "version": "2.1.0",
            "runs": [{"tool": {"driver": driver}, "results": results, **run}],
        },
        indent=2,
    )


def findings_sarif(
    findings: Sequence[Finding], tool_version: str = "0", *, fallback: str = ""
) -> str:
    """The SARIF log of `findings`; each result located (see the module docstring)."""
    results = []
    for f in findings:
        result: dict[str, Any] = {
            "ruleId": f.id,
            "level": _LEVEL[f.severity],
            "message": {"text": f"{f.object}: {f.message}"},
        }
        location = _location(f.origin, fallback)
        if location is not None:
            result["locations"] = [location]
        results.append(result)
    return _log(results, tool_version)


def failed_run_sarif(
    message: str, tool_version: str = "0", *, file: str | None = None, line: int | None = None
) -> str:
    """A SARIF log saying the run failed with `message` (no results)."""
    notification: dict[str, Any] = {"level": "error", "message": {"text": message}}
    if file:
        notification["locations"] = [_location(f"{file}:{line or 1}", "")]
    invocation = {"executionSuccessful": False, "toolExecutionNotifications": [notification]}
    return _log([], tool_version, invocations=[invocation])
