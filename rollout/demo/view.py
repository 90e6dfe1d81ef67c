"""What `rollout demo` shows: rich panels and tables in a terminal, plain lines in a pipe.

The runner calls one method per thing that happened; nothing here does I/O
other than writing to the console it was given.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from rollout.demo.receiver import Delivery
from rollout.demo.scenario import Change
from rollout.findings import findings_from_json
from rollout.smoke.results import report_from_dict, to_table
from rollout.store.records import StageEvent

# The path a rollout takes, with the label shown for each state.
STAGES: tuple[tuple[str, str], ...] = (
    ("detected", "commit detected"),
    ("validated", "validated (render, schema, server dry-run)"),
    ("staging_applied", "applied to staging"),
    ("staging_verified", "staging smoke tests passed"),
    ("awaiting_approval", "awaiting approval"),
    ("approved", "approved"),
    ("scheduled", "scheduled for the window"),
    ("production_applied", "applied to production"),
    ("production_verified", "production smoke tests passed"),
    ("done", "done"),
)
FAILURES = {
    "invalid": "invalid",
    "staging_failed": "staging failed: rolled back",
    "rejected": "rejected",
    "superseded": "superseded",
    "production_failed": "production failed",
}
NODE_SIMULATED = (
    "node simulated: probe pods ran on a simulated node, connections judged by the "
    "policy engine on the cluster's live NetworkPolicies (no real network plugin)"
)


class Pipeline:
    """The live stage panel of one rollout; prints one line per state change."""

    def __init__(self, console: Console, rollout_id: str) -> None:
        self._console = console
        self._rollout_id = rollout_id
        self._states: list[str] = []
        self._started = time.monotonic()
        self.live: Live | None = None

    def state(self, state: str) -> None:
        if state in self._states:
            return
        self._states.append(state)
        label = dict(STAGES).get(state) or FAILURES.get(state, state)
        style = "red" if state in FAILURES else "green"
        elapsed = time.monotonic() - self._started
        self._console.print(
            f"  [{style}]●[/] stage [bold]{state}[/]: {label}  [dim]+{elapsed:.1f}s[/]"
        )
        if self.live is not None:
            self.live.update(self.render())

    def event(self, event: StageEvent) -> None:
        summary = event.details.get("summary") or event.details.get("message") or ""
        who = f" by {event.actor}" if event.actor not in ("", "system", "netpol-rollout") else ""
        env = f" [{event.environment}]" if event.environment else ""
        self._console.print(f"    [dim]· {event.kind}{env}{who} {summary}[/]")

    def render(self) -> Panel:
        table = Table.grid(padding=(0, 1))
        reached = set(self._states)
        current = self._states[-1] if self._states else ""
        for state, label in STAGES:
            if state == current and state not in ("done",):
                mark = "[yellow]▶[/]"
            elif state in reached:
                mark = "[green]✓[/]"
            else:
                mark = "[dim]·[/]"
            table.add_row(mark, label if state in reached else f"[dim]{label}[/]")
        if current in FAILURES:
            table.add_row("[red]✗[/]", f"[red]{FAILURES[current]}[/]")
        return Panel(table, title=f"rollout {self._rollout_id[:12]}", expand=False)


class DemoView:
    """Everything the demo prints, on `console`."""

    def __init__(self, console: Console) -> None:
        self.console = console

    # -- set-up --------------------------------------------------------------------------------

    def intro(self) -> None:
        self.console.rule("[bold]netpol-rollout demo")
        self.console.print(
            "Two local clusters (staging, production), the example policy repository, "
            "the service in this process, and two commits: one good, one with a mistake.\n"
        )

    @contextmanager
    def step(self, text: str) -> Iterator[None]:
        started = time.monotonic()
        with self._status(text):
            yield
        self.console.print(f"[green]✓[/] {text} [dim]({time.monotonic() - started:.1f}s)[/]")

    @contextmanager
    def waiting(self, text: str) -> Iterator[None]:
        with self._status(text):
            yield

    def setup_done(
        self, *, root: Path, url: str, webhook: str, approver: str, smoke_timeout: str
    ) -> None:
        table = Table.grid(padding=(0, 2))
        table.add_row("work folder", str(root))
        table.add_row("service", f"{url}  (API, Slack and GitHub endpoints, dashboard)")
        table.add_row("webhook receiver", f"{webhook}  (verifies HMAC signatures)")
        table.add_row("approver", f"{approver}  (1 approval needed for production)")
        table.add_row("window", "production window open now (hourly, 2 h long)")
        table.add_row("smoke tests", f"timeout {smoke_timeout} per check, on a simulated node")
        self.console.print(Panel(table, title="demo set-up", expand=False))

    # -- one commit ------------------------------------------------------------------------------

    def scenario(self, change: Change) -> None:
        self.console.print()
        self.console.rule(f"[bold]{change.title}")
        self.console.print(f"[dim]expected: {change.explanation}[/]")

    def pushed(self, sha: str, message: str, author: str) -> None:
        self.console.print(f"pushed [bold]{sha[:12]}[/] {message!r} by {author}")

    @contextmanager
    def pipeline(self, rollout_id: str) -> Iterator[Pipeline]:
        pipeline = Pipeline(self.console, rollout_id)
        if not self.console.is_terminal:
            yield pipeline
            self.console.print(pipeline.render())
            return
        with Live(pipeline.render(), console=self.console, refresh_per_second=8) as live:
            pipeline.live = live
            yield pipeline
            live.update(pipeline.render())

    def diff(self, diff: Mapping[str, Any], lint: Any) -> None:
        if "error" in diff:
            self.console.print(f"[yellow]connectivity diff unavailable:[/] {diff['error']}")
            return
        rows = [("+", c) for c in _connections(diff.get("opened"))]
        rows += [("-", c) for c in _connections(diff.get("closed"))]
        opened = sum(1 for sign, _ in rows if sign == "+")
        table = Table(
            title=f"connectivity diff: {opened} opened, {len(rows) - opened} closed",
            title_justify="left",
        )
        for column in ("", "from", "to", "port", "because of"):
            table.add_column(column, overflow="fold")
        for sign, c in rows:
            table.add_row(
                "[green]+[/]" if sign == "+" else "[red]-[/]",
                c["from"],
                c["to"],
                c["port"],
                c["policies"],
            )
        if not rows:
            table.add_row("", "[dim](no connection changes between existing workloads)[/]")
        findings = findings_from_json(lint)
        if findings:
            table.caption = f"lint: {len(findings)} finding(s) in the new revision"
        self.console.print(table)

    def smoke(self, environment: str, entry: Mapping[str, Any]) -> None:
        report = entry.get("report")
        if isinstance(report, Mapping) and "results" in report:
            table = to_table(report_from_dict(report))
            table.title = f"smoke tests in {environment} (node simulated): {table.title}"
        else:
            table = Table(title=f"smoke tests in {environment} (node simulated)")
            table.add_column("summary")
            table.add_row(str(entry.get("summary", entry)))
        table.caption = NODE_SIMULATED
        self.console.print(table)

    def approval(self, *, approver: str, url: str, token: str, status: int, body: Any) -> None:
        message = body.get("message", "") if isinstance(body, Mapping) else str(body)
        lines = Text()
        lines.append(f"POST {url}\n", style="bold")
        lines.append(f"Authorization: Bearer {token[:8]}… ({approver}'s member token)\n")
        lines.append("X-Request-Id: demo-approval\n")
        lines.append(f"-> {status} {message}", style="green" if status < 300 else "red")
        self.console.print(Panel(lines, title=f"approval sent as {approver}", expand=False))

    def webhooks(self, deliveries: Sequence[Delivery], name: str) -> None:
        table = Table(
            title=f"notification payloads received by the local webhook {name!r}",
            title_justify="left",
        )
        for column in ("signature", "event", "environment", "summary", "delivery id"):
            table.add_column(column, overflow="fold")
        for d in deliveries:
            payload = d.payload
            table.add_row(
                "[green]✓ valid[/]" if d.verified else "[red]✗ INVALID[/]",
                d.event,
                str(payload.get("environment", "")),
                _payload_summary(payload),
                d.delivery_id[:24],
            )
        if not deliveries:
            table.add_row("", "[dim](none yet)[/]", "", "", "")
        self.console.print(table)
        if deliveries:
            sample = json.dumps(deliveries[-1].payload, indent=2, sort_keys=True)
            self.console.print(
                Panel(
                    Syntax(
                        _clip(sample, 40), "json", theme="ansi_dark", background_color="default"
                    ),
                    title=f"last payload ({deliveries[-1].event})",
                    expand=False,
                )
            )

    def production(self, summary: Mapping[str, Any]) -> None:
        table = Table(
            title=f"production applied at {str(summary.get('sha', ''))[:12]}", title_justify="left"
        )
        table.add_column("what")
        table.add_column("", overflow="fold")
        details = summary.get("details") or {}
        table.add_row("result", str(details.get("summary", "")))
        counts = details.get("counts")
        if isinstance(counts, Mapping):
            table.add_row("plan", ", ".join(f"{k} {v}" for k, v in counts.items()))
        for key in ("applied", "deleted", "refused"):
            items = details.get(key)
            if items:
                table.add_row(key, "\n".join(str(i) for i in items))
        policies = summary.get("policies")
        if policies:
            table.add_row(
                "NetworkPolicies in production", f"{len(policies)}: " + ", ".join(policies)
            )
        self.console.print(table)

    def audit(self, events: Sequence[StageEvent]) -> None:
        table = Table(title="audit log (the rollout's recorded events)", title_justify="left")
        for column in ("at (UTC)", "environment", "event", "actor", "channel", "details"):
            table.add_column(column, overflow="fold")
        for e in events:
            table.add_row(
                e.at.strftime("%H:%M:%S"),
                e.environment or "",
                e.kind,
                e.actor,
                e.channel,
                _short(e.details),
            )
        self.console.print(table)

    def outcome(self, change: Change, state: str, ok: bool) -> None:
        if ok:
            self.console.print(f"[bold green]✓ {change.title}: ended {state}, as expected[/]")
        else:
            self.console.print(
                f"[bold red]✗ {change.title}: ended {state}, expected {change.expect}[/]"
            )

    def timed_out(self, state: str, seconds: float) -> None:
        self.console.print(f"[bold red]✗ no final state after {seconds:.0f}s (still {state})[/]")

    # -- the end -------------------------------------------------------------------------------

    def finished(self, ok: bool, seconds: float, results: Sequence[bool]) -> None:
        self.console.print()
        verdict = "[bold green]demo complete[/]" if ok else "[bold red]demo FAILED[/]"
        self.console.print(
            f"{verdict}: {sum(results)}/{len(results)} commits behaved as expected "
            f"in {seconds:.0f}s"
        )

    def kept(self, root: Path) -> None:
        self.console.print(f"kept {root} (--keep): service.log, state.db, the git remote")

    def cleaning_up(self, interrupted: bool) -> None:
        if interrupted:
            self.console.print("\n[yellow]interrupted, cleaning up[/]")
        else:
            self.console.print("[yellow]cleaning up[/]")

    def error(self, message: str) -> None:
        self.console.print(f"[bold red]error:[/] {message}")

    @contextmanager
    def _status(self, text: str) -> Iterator[None]:
        if self.console.is_terminal:
            with self.console.status(text):
                yield
        else:
            yield


def _connections(value: Any) -> list[dict[str, str]]:
    """Connections of a stored diff: a list of dicts (or of "+ a -> b" lines)."""
    out: list[dict[str, str]] = []
    for c in value if isinstance(value, list) else ():
        if isinstance(c, Mapping):
            out.append(
                {
                    "from": str(c.get("from", "")),
                    "to": str(c.get("to", "")),
                    "port": f"{c.get('protocol', '')}/{c.get('port', '')}",
                    "policies": ", ".join(str(p) for p in c.get("policies") or ()),
                }
            )
        else:
            out.append({"from": str(c), "to": "", "port": "", "policies": ""})
    return out


def _payload_summary(payload: Mapping[str, Any]) -> str:
    commit = payload.get("commit") if isinstance(payload.get("commit"), Mapping) else {}
    parts = [str(commit.get("sha", ""))[:8]] if commit else []
    for key in ("reason", "actor"):
        if payload.get(key):
            parts.append(f"{key}: {payload[key]}")
    smoke = payload.get("smoke")
    if isinstance(smoke, Mapping):
        parts.append(f"smoke {smoke.get('passed', 0)} passed/{smoke.get('failed', 0)} failed")
    diff = payload.get("diff")
    if isinstance(diff, Mapping):
        parts.append(f"diff +{diff.get('opened', 0)}/-{diff.get('closed', 0)}")
    return ", ".join(parts)


def _short(details: Mapping[str, Any], limit: int = 110) -> str:
    text = ", ".join(f"{k}={v}" for k, v in details.items() if k not in ("report",))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _clip(text: str, lines: int) -> str:
    rows = text.splitlines()
    return text if len(rows) <= lines else "\n".join([*rows[:lines], "  …"])
