"""What `rollout demo` shows: short lines and narrow tables that read at 80 columns.

The runner calls one method per thing that happened; nothing here does I/O
other than writing to the console it was given. Each fact is printed once,
in words: stages as they are reached, the connectivity diff, smoke results
(a table only for the checks that failed), the approval, the notifications,
what production runs, and the audit log, one line per event. Full webhook
payloads only with `verbose` (`rollout demo -v`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.padding import Padding
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from rollout.demo.nodes import NodeChoice
from rollout.demo.receiver import Delivery
from rollout.demo.scenario import Change
from rollout.demo.wording import (
    changed_words,
    checks_of,
    connections,
    counted,
    event_text,
    payload_summary,
)
from rollout.smoke.results import result_from_dict, shared_causes
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
    "probe pods run on a simulated node; the policy engine judges each connection on the "
    "cluster's live NetworkPolicies (no real network plugin)"
)
NODE_REAL = (
    "probe pods run on the real node: real containers (kubelet, containerd), real "
    "packets, NetworkPolicy enforced by kube-router"
)
_SHOWN_EVENTS = {"rollback", "rollback.skipped"}


@dataclass(frozen=True)
class Failure:
    """Why a commit failed, as the demo explains it."""

    changed: Sequence[str]  # the commit's changed lines, `path` then `- old` / `+ new`
    smoke: Mapping[str, Any]  # the failing environment's smoke entry
    rolled_back_to: str | None


class Pipeline:
    """The live stage panel of one rollout; prints one line per state reached."""

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
        self._console.print(f"  [{style}]●[/] {label} [dim]+{elapsed:.1f}s[/]")
        if self.live is not None:
            self.live.update(self.render())

    def event(self, event: StageEvent) -> None:
        if event.kind in _SHOWN_EVENTS:
            self._console.print(f"    [dim]· {escape(event_text(event))}[/]")

    def render(self) -> Panel:
        table = Table.grid(padding=(0, 1))
        reached = set(self._states)
        current = self._states[-1] if self._states else ""
        for state, label in STAGES:
            if state == current and state != "done":
                mark = "[yellow]▶[/]"
            elif state in reached:
                mark = "[green]✓[/]"
            else:
                mark = "[dim]·[/]"
            table.add_row(mark, label if state in reached else f"[dim]{label}[/]")
        if current in FAILURES:
            table.add_row("[red]✗[/]", f"[red]{FAILURES[current]}[/]")
        return Panel(table, title=f"rollout {self._rollout_id}", expand=False)


class DemoView:
    """Everything the demo prints, on `console`; payloads only when `verbose`."""

    def __init__(self, console: Console, *, verbose: bool = False) -> None:
        self.console = console
        self.verbose = verbose

    def say(self, markup: str, indent: int = 0) -> None:
        """One statement; wrapped lines keep the indent, so it reads at any width."""
        self.console.print(Padding(Text.from_markup(markup), (0, 0, 0, indent), expand=False))

    # -- set-up --------------------------------------------------------------------------------

    def intro(self) -> None:
        self.console.rule("[bold]netpol-rollout demo")
        self.say(
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

    def node_choice(self, choice: NodeChoice) -> None:
        """Where staging runs, and plainly why not on the real node when it does not."""
        if choice.real:
            self.say("[bold]node:[/] staging runs on the real node; production on a simulated one")
            self.say(
                "[dim]one real node per machine; staging's smoke tests decide promotion "
                "and rollback[/]",
                2,
            )
        else:
            self.say("[bold]node:[/] simulated (staging and production); not the real node:")
            self.say(f"[dim]{escape(choice.reason)}[/]", 2)

    def setup_done(
        self,
        *,
        root: Path,
        url: str,
        webhook: str,
        approver: str,
        smoke_timeout: str,
        node: NodeChoice | None = None,
    ) -> None:
        table = Table.grid(padding=(0, 2))
        table.add_column(no_wrap=True)
        table.add_column(overflow="fold")
        table.add_row("work folder", str(root))
        table.add_row("service", f"{url} (API, webhooks, dashboard)")
        table.add_row("webhook receiver", f"{webhook} (checks signatures)")
        table.add_row("approver", f"{approver} (1 approval for production)")
        table.add_row("window", "production open now (hourly, 2 h long)")
        table.add_row("smoke tests", f"{smoke_timeout} per check")
        if node is not None and node.real:
            table.add_row("staging node", f"{NODE_REAL}; no cluster DNS, so no DNS check")
            table.add_row("production node", NODE_SIMULATED)
        else:
            table.add_row("nodes", NODE_SIMULATED)
        self.console.print(Panel(table, title="demo set-up", expand=False))

    # -- one commit ------------------------------------------------------------------------------

    def scenario(self, number: int, change: Change) -> None:
        self.console.print()
        self.console.rule(f"[bold]{number}. {change.title}")
        self.console.print(f"[dim]expected: {change.explanation}[/]")

    def pushed(self, sha: str, message: str, author: str) -> None:
        self.say(f'pushed [bold]{sha[:12]}[/] "{escape(message)}" by {escape(author)}')

    @contextmanager
    def pipeline(self, rollout_id: str) -> Iterator[Pipeline]:
        pipeline = Pipeline(self.console, rollout_id)
        if not self.console.is_terminal:
            yield pipeline  # the stage lines say it all; no panel repeating them
            return
        with Live(pipeline.render(), console=self.console, refresh_per_second=8) as live:
            pipeline.live = live
            yield pipeline
            live.update(pipeline.render())

    def diff(self, environment: str, diff: Mapping[str, Any], lint: Any) -> None:
        if "error" in diff:
            self.say(f"[yellow]connectivity diff unavailable:[/] {escape(str(diff['error']))}")
            return
        rows = [("+", c) for c in connections(diff.get("opened"))]
        rows += [("-", c) for c in connections(diff.get("closed"))]
        opened = sum(1 for sign, _ in rows if sign == "+")
        self.say(
            f"connectivity diff for {escape(environment)}: {opened} opened, "
            f"{len(rows) - opened} closed"
        )
        for sign, c in rows:
            colour = "green" if sign == "+" else "red"
            self.say(f"[{colour}]{sign}[/] {escape(c['from'])} → {escape(c['to'])}  {c['port']}", 2)
            for index, policy in enumerate(c["policies"]):
                self.say(f"[dim]{'because of' if index == 0 else 'and':>10} {escape(policy)}[/]", 4)
        if not rows:
            self.say("[dim](no connection changes between existing workloads)[/]", 2)
        self._lint(lint)

    def _lint(self, lint: Any) -> None:
        findings = lint.get("findings", []) if isinstance(lint, Mapping) else []
        findings = [f for f in findings if isinstance(f, Mapping)]
        if not findings:
            self.say("lint: no findings")
            return
        self.say(f"lint: {len(findings)} finding{'s' if len(findings) != 1 else ''}")
        for f in findings[:5]:
            head = f"{f.get('severity', '')} {f.get('id', '')}"
            self.say(f"{escape(head)} {escape(str(f.get('object', '')))}:", 2)
            self.say(f"[dim]{escape(str(f.get('message', '')))}[/]", 4)
        if len(findings) > 5:
            self.say(f"[dim]… and {len(findings) - 5} more on the dashboard[/]", 2)

    def smoke(self, environment: str, entry: Mapping[str, Any]) -> None:
        """One line when every check passed; each failed check, with what it expected."""
        checks = checks_of(entry)
        failed = [c for c in checks if c.get("outcome") != "passed"]
        verdict = "" if entry.get("ok") else " [red]FAILED[/]"
        report = entry.get("report")
        node = report.get("node") if isinstance(report, Mapping) else None
        if node:
            verdict = f"{verdict} (node: {escape(str(node))})"
        if not checks:
            summary = escape(str(entry.get("summary", "")))
            self.say(f"smoke tests in {escape(environment)}{verdict}: {summary}")
            return
        self.say(
            f"smoke tests in {escape(environment)}{verdict}: {len(checks) - len(failed)} of "
            f"{len(checks)} checks passed"
        )
        results = [result_from_dict(c) for c in checks]
        causes = shared_causes(results)
        for number, text in enumerate(causes, 1):
            self.say(f"cause {number}: {escape(text)}", 2)
        for c, r in zip(checks, results, strict=True):
            if r.outcome == "passed":
                continue
            target = str(c.get("target") or "")
            if c.get("port"):
                target += f" {c.get('protocol') or 'TCP'} {c.get('port')}"
            name = escape(str(c.get("name")))
            if r.why_not_run in causes:
                number = causes.index(r.why_not_run) + 1
                self.say(f"[red]✗[/] {name}: not judged (see cause {number})", 2)
            else:
                observed = escape(str(c.get("observed") or c.get("outcome") or ""))
                expect = escape(str(c.get("expect") or ""))
                self.say(f"[red]✗[/] {name}: expected {expect}, observed {observed}", 2)
            self.say(f"[dim]{escape(str(c.get('source')))} → {escape(target)}[/]", 6)

    def approval(self, *, approver: str, url: str, token: str, status: int, body: Any) -> None:
        message = body.get("message", "") if isinstance(body, Mapping) else str(body)
        colour = "green" if status < 300 else "red"
        path = "/" + url.split("://", 1)[-1].split("/", 1)[-1]
        self.say(f"approval: POST {escape(path)}")
        self.say(f"as {escape(approver)} with a member token ({escape(token[:8])}…)", 2)
        self.say(f"→ [{colour}]{status}[/] {escape(str(message))}", 2)

    def failure(self, failure: Failure) -> None:
        """Why the commit was bad: what it changed, which checks caught it, what was undone."""
        self.say("[bold]why it failed[/]")
        if failure.changed:
            self.say("the commit changed", 2)
            for line, times in counted(failure.changed):
                colour = "red" if line.startswith("-") else "green" if line.startswith("+") else ""
                shown = f"[{colour}]{escape(line)}[/]" if colour else escape(line)
                self.say(shown + (f" [dim]({times} times)[/]" if times > 1 else ""), 4)
        for old, new in changed_words(failure.changed):
            self.say(f"that is, [red]{escape(old)}[/] became [green]{escape(new)}[/]", 4)
        failed = [c for c in checks_of(failure.smoke) if c.get("outcome") != "passed"]
        if failed:
            names = ", ".join(escape(str(c.get("name"))) for c in failed)
            self.say(f"and the smoke checks above found those flows blocked: {names}", 2)
        if failure.rolled_back_to:
            self.say(
                f"staging was rolled back to {failure.rolled_back_to[:12]}, the last good "
                "revision; production never saw the commit",
                2,
            )

    def webhooks(self, deliveries: Sequence[Delivery], name: str) -> None:
        valid = all(d.verified for d in deliveries)
        check = "all signatures valid" if valid else "[red]✗ INVALID signature(s)[/]"
        self.say(f"notifications received by the webhook {escape(name)!r} ({check}):")
        width = max([len(d.event) for d in deliveries] + [5])
        for d in deliveries:
            mark = "[green]✓ valid[/]" if d.verified else "[red]✗ INVALID[/]"
            env = escape(str(d.payload.get("environment") or ""))
            said = payload_summary(d.payload)
            self.say(f"{mark} {d.event:<{width}} {env}" + (f": {escape(said)}" if said else ""), 2)
        if not deliveries:
            self.say("[dim](none)[/]", 2)
        if self.verbose and deliveries:
            sample = json.dumps(deliveries[-1].payload, indent=2, sort_keys=True)
            self.console.print(
                Panel(
                    Syntax(sample, "json", theme="ansi_dark", background_color="default"),
                    title=f"payload of {deliveries[-1].event}",
                    expand=False,
                )
            )

    def production(self, summary: Mapping[str, Any]) -> None:
        details = summary.get("details") or {}
        policies = summary.get("policies") or []
        counts = details.get("counts")
        plan = ""
        if isinstance(counts, Mapping):
            plan = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
        self.say(
            f"production now runs {escape(str(summary.get('sha', ''))[:12])}: "
            f"{len(policies)} NetworkPolicies" + (f" ({escape(plan)})" if plan else "")
        )
        for item in details.get("applied") or ():
            self.say(f"[green]applied[/] {escape(str(item))}", 2)
        for item in details.get("deleted") or ():
            self.say(f"[red]deleted[/] {escape(str(item))}", 2)
        if self.verbose and policies:
            self.say("[dim]" + escape(", ".join(str(p) for p in policies)) + "[/]", 2)

    def audit(self, events: Sequence[StageEvent]) -> None:
        self.say("audit log (the rollout's recorded events, UTC):")
        table = Table(show_header=False, box=None, padding=(0, 1), pad_edge=False)
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True)
        table.add_column(overflow="fold")
        for e in events:
            who = "" if e.channel in ("", "system") else f" [dim](by {e.actor} via {e.channel})[/]"
            what = Text.from_markup(escape(event_text(e)) + who)
            table.add_row(f"  {e.at:%H:%M:%S}", e.environment or "", what)
        self.console.print(table)

    def outcome(self, change: Change, state: str, ok: bool) -> None:
        shown = FAILURES.get(state, state)
        if ok:
            self.console.print(f"[bold green]✓ {change.title}: {shown}, as expected[/]")
        else:
            self.console.print(f"[bold red]✗ {change.title}: {shown}, expected {change.expect}[/]")

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

    def serving(self, url: str, member: str, token: str) -> None:
        self.console.print()
        self.console.print(f"[bold]The service and its dashboard stay up:[/] {url}/")
        self.console.print(f"sign in as {member} with this token (valid until you stop):")
        self.console.print(f"  {token}", soft_wrap=True)
        self.console.print("Press Ctrl-C to stop and clean up.")

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
