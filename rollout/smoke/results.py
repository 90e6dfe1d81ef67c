"""Smoke-test results and their renderings: console table, JSON, JUnit XML, Markdown.

One `SmokeReport` per run; every renderer reads only it, so the CLI, the
engine's stored artifact and notifications show the same facts.

A root cause that stopped several checks (the probe image cannot be pulled,
the probe's self-test failed, the pre-check stopped the run) is stated once,
as a numbered cause under the summary; the rows it stopped say `see cause N`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal
from xml.etree import ElementTree as ET

from rich.table import Table

Outcome = Literal["passed", "failed", "error", "skipped"]
Kind = Literal["expectation", "dns", "canary", "script", "precheck"]

CNI_NOT_ENFORCING = (
    "the cluster's network plugin does NOT enforce NetworkPolicy: the CNI canary connected "
    "through a default-deny baseline. Every policy is accepted and ignored. Install or enable "
    "an enforcing plugin (Calico, Cilium, the cloud's network policy add-on) before relying "
    "on these policies."
)


@dataclass(frozen=True)
class CheckResult:
    """One verdict. `observed` is what the probe saw: connected, blocked, or None (no probe)."""

    name: str
    kind: Kind
    outcome: Outcome
    message: str
    source: str = ""
    target: str = ""
    port: int | None = None
    protocol: str = ""
    expect: str = ""
    observed: Literal["connected", "blocked"] | None = None
    attempts: int = 0
    seconds: float = 0.0
    output: str = ""  # scripts: captured output (bounded)
    cause: str = ""
    """What stopped this check and others with it; `message` then says what is its own."""

    @property
    def ok(self) -> bool:
        return self.outcome in ("passed", "skipped")

    @property
    def why_not_run(self) -> str:
        """The cause (or message) of a check that was not judged; "" for a verdict."""
        if self.outcome not in ("error", "skipped"):
            return ""
        return self.cause or self.message


@dataclass(frozen=True)
class SmokeReport:
    environment: str
    run_id: str
    started_at: datetime
    finished_at: datetime
    results: tuple[CheckResult, ...]
    rollout_id: str = ""
    commit_sha: str = ""
    cni_not_enforcing: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)
    # Where the probes ran in a development cluster: "real" (a real kubelet and
    # enforcer, rollout.devcluster.RealNode) or "simulated" (the policy engine
    # judged every connection); "" on a user's cluster, where it goes unsaid.
    node: str = ""

    @property
    def passed(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if not r.ok)

    def counts(self) -> Mapping[str, int]:
        """Outcomes of the live checks (the static pre-check is counted apart)."""
        return _tally(r for r in self.results if r.kind != "precheck")

    def precheck_counts(self) -> Mapping[str, int]:
        """Outcomes of the static pre-check (the policy engine's verdicts, no probe)."""
        return _tally(r for r in self.results if r.kind == "precheck")

    def summary(self) -> str:
        """One line for humans: verdict and counts (and the CNI warning first)."""
        c, pre = self.counts(), self.precheck_counts()
        verdict = "passed" if self.passed else "FAILED"
        live = sum(c.values())
        line = (
            f"smoke tests {verdict} in {self.environment}: {c['passed']} passed, "
            f"{c['failed']} failed, {c['error']} errors"
            + (f", {c['skipped']} skipped" if c["skipped"] else "")
            + f" of {live} live check{'s' if live != 1 else ''}"
            + (
                f"; static pre-check: {pre['passed']} passed, {pre['failed'] + pre['error']} failed"
                if sum(pre.values())
                else ""
            )
            + (f" (node: {self.node})" if self.node else "")
        )
        return f"{CNI_NOT_ENFORCING} {line}" if self.cni_not_enforcing else line

    def causes(self) -> tuple[str, ...]:
        """Root causes shared by several checks (or named as one), each once, in order."""
        return shared_causes(self.results)

    def cause_lines(self) -> list[str]:
        """`cause 1 (8 checks): the probe image ...`, one line per cause."""
        lines = []
        for number, text in enumerate(self.causes(), 1):
            n = sum(1 for r in self.results if r.why_not_run == text)
            lines.append(f"cause {number} ({n} check{'s' if n != 1 else ''}): {text}")
        return lines

    def detail(self, result: CheckResult) -> str:
        """A row's detail: its message, or a reference to the cause stated once."""
        causes = self.causes()
        if result.why_not_run not in causes:
            return result.message
        ref = f"see cause {causes.index(result.why_not_run) + 1}"
        own = result.message if result.cause and result.message != result.cause else ""
        return f"{own} ({ref})" if own else ref

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        data["finished_at"] = self.finished_at.isoformat()
        data["passed"] = self.passed
        data["counts"] = dict(self.counts())
        data["precheck_counts"] = dict(self.precheck_counts())
        data["summary"] = self.summary()
        data["causes"] = list(self.causes())
        data["results"] = [asdict(r) for r in self.results]
        return data


def shared_causes(results: Iterable[CheckResult]) -> tuple[str, ...]:
    """What stopped several checks (or was named as a cause), each once, in order."""
    shared: dict[str, int] = {}
    for r in results:
        if r.why_not_run:
            shared[r.why_not_run] = shared.get(r.why_not_run, 0) + (2 if r.cause else 1)
    return tuple(text for text, n in shared.items() if n > 1)


def _tally(results: Iterable[CheckResult]) -> dict[str, int]:
    out = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    for r in results:
        out[r.outcome] += 1
    return out


def phase(result: CheckResult) -> str:
    """`pre-check` (static, the policy engine) or `live` (a probe, DNS, a script)."""
    return "pre-check" if result.kind == "precheck" else "live"


def to_json(report: SmokeReport) -> str:
    return json.dumps(report.to_dict(), indent=2, sort_keys=True)


_FIELDS = frozenset(CheckResult.__dataclass_fields__)
_REQUIRED: dict[str, Any] = {"name": "", "kind": "expectation", "outcome": "error", "message": ""}


def result_from_dict(data: Mapping[str, Any]) -> CheckResult:
    """One stored check result (keys this version does not know are left out).

    A row missing a required key reads as an unnamed live check.
    """
    known = {k: v for k, v in data.items() if k in _FIELDS}
    return CheckResult(**{**_REQUIRED, **known})


def report_from_dict(data: Mapping[str, Any]) -> SmokeReport:
    """Rebuild a report stored with a rollout (the inverse of `to_dict`)."""
    results = tuple(result_from_dict(r) for r in data["results"])
    return SmokeReport(
        environment=data["environment"],
        run_id=data["run_id"],
        started_at=datetime.fromisoformat(data["started_at"]),
        finished_at=datetime.fromisoformat(data["finished_at"]),
        results=results,
        rollout_id=data.get("rollout_id", ""),
        commit_sha=data.get("commit_sha", ""),
        cni_not_enforcing=bool(data.get("cni_not_enforcing")),
        notes=tuple(data.get("notes", ())),
        node=str(data.get("node", "")),
    )


_STYLE = {"passed": "green", "failed": "bold red", "error": "bold red", "skipped": "dim"}


def to_table(report: SmokeReport) -> Table:
    """A rich table, one row per check; print it with a rich Console."""
    title = "\n".join([report.summary(), *report.cause_lines()])
    table = Table(title=title, title_justify="left", expand=False)
    for column in ("phase", "result", "check", "from", "to", "expect", "observed", "detail"):
        table.add_column(column, overflow="fold")
    for r in report.results:
        to = f"{r.target}:{r.port}/{r.protocol}" if r.port else r.target
        table.add_row(
            phase(r),
            f"[{_STYLE[r.outcome]}]{r.outcome}[/]",
            r.name,
            r.source,
            to,
            r.expect,
            r.observed or "",
            report.detail(r),
        )
    return table


def to_junit(report: SmokeReport) -> str:
    """JUnit XML: a testsuite of the live checks and one of the static pre-check.

    One testcase per check (class = kind); each suite counts only its own
    checks, and the causes shared by several checks are suite properties
    (`cause.1`) that the testcases refer to.
    """
    root = ET.Element("testsuites")
    live = tuple(r for r in report.results if r.kind != "precheck")
    pre = tuple(r for r in report.results if r.kind == "precheck")
    root.append(_suite(report, f"smoke.{report.environment}", live))
    if pre:
        root.append(_suite(report, f"smoke.{report.environment}.precheck", pre))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _suite(report: SmokeReport, name: str, results: tuple[CheckResult, ...]) -> ET.Element:
    c = _tally(results)
    elapsed = (report.finished_at - report.started_at).total_seconds()
    suite = ET.Element(
        "testsuite",
        name=name,
        tests=str(len(results)),
        failures=str(c["failed"]),
        errors=str(c["error"]),
        skipped=str(c["skipped"]),
        time=f"{elapsed:.3f}",
        timestamp=report.started_at.isoformat(),
    )
    causes = [t for t in report.causes() if any(r.why_not_run == t for r in results)]
    if report.node or causes:
        properties = ET.SubElement(suite, "properties")
        if report.node:
            ET.SubElement(properties, "property", name="node", value=report.node)
        for text in causes:
            number = report.causes().index(text) + 1
            ET.SubElement(properties, "property", name=f"cause.{number}", value=text)
    for r in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"smoke.{report.environment}.{r.kind}",
            name=r.name,
            time=f"{r.seconds:.3f}",
        )
        if r.outcome in ("failed", "error"):
            tag = "failure" if r.outcome == "failed" else "error"
            element = ET.SubElement(case, tag, message=report.detail(r))
            element.text = r.output or r.message
        elif r.outcome == "skipped":
            ET.SubElement(case, "skipped", message=report.detail(r))
        elif r.output:
            ET.SubElement(case, "system-out").text = r.output
    return suite


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: SmokeReport, *, max_rows: int = 50) -> str:
    """Markdown for notifications: the verdict, failures first, then the passes (bounded)."""
    icon = "✅" if report.passed else "❌"
    lines = [f"### {icon} {_md(report.summary())}", ""]
    if report.cni_not_enforcing:
        lines += [f"> **Warning:** {CNI_NOT_ENFORCING}", ""]
    if report.causes():
        lines += [f"- {_md(line)}" for line in report.cause_lines()] + [""]
    lines += [
        "| phase | result | check | from | to | expected | observed | detail |",
        "|---|---|---|---|---|---|---|---|",
    ]
    ordered = sorted(report.results, key=lambda r: (r.ok, r.kind != "canary"))
    for r in ordered[:max_rows]:
        to = f"{r.target}:{r.port}/{r.protocol}" if r.port else r.target
        cells = [phase(r), r.outcome, r.name, r.source, to, r.expect, r.observed or ""]
        cells.append(report.detail(r))
        lines.append("| " + " | ".join(_md(c) for c in cells) + " |")
    if len(ordered) > max_rows:
        lines.append(
            f"\n… and {len(ordered) - max_rows} more checks (all passed)"
            if all(r.ok for r in ordered[max_rows:])
            else f"\n… and {len(ordered) - max_rows} more checks"
        )
    return "\n".join(lines) + "\n"
