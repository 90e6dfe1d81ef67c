"""The rollout page: stages, timeline, diff, lint, smoke, approvals, notifications."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from rollout.core.lifecycle import State, predecessors
from rollout.findings import findings_from_json
from rollout.server.context import ServerContext
from rollout.server.dashboard.diff_graph import graph_svg, heading
from rollout.server.dashboard.diff_table import diff_table
from rollout.server.dashboard.fleet_table import fleet_html
from rollout.server.dashboard.markup import csrf_field, esc, short_sha, state_badge, table, when
from rollout.server.dashboard.progress import STATE_EVENTS, Waiting, stage_steps, visited_states
from rollout.smoke.results import SmokeReport, phase, result_from_dict
from rollout.store.records import RolloutRecord

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_REJECTABLE = {s.value for s in predecessors(State.REJECTED)}


def _timeline(ctx: ServerContext, rollout: RolloutRecord, tz: ZoneInfo) -> str:
    items = []
    for event in ctx.store.events(rollout_id=rollout.id, limit=500):
        details = event.details
        what = esc(event.kind)
        if event.kind == "state.changed":
            what = (
                f"{state_badge(str(details.get('from', '')))} → "
                f"{state_badge(str(details.get('to', '')))}"
            )
        elif event.kind == "rollout.created":
            what = f"created as {state_badge(str(details.get('state', '')))}"
        extra = details.get("reason") or details.get("error") or details.get("summary")
        items.append(
            f'<li class="event" data-kind="{esc(event.kind)}">{when(event.at, tz)} '
            f"<span>{what}</span> by <strong>{esc(event.actor)}</strong> "
            f'<span class="channel">via {esc(event.channel)}</span>'
            f"{f' — {esc(extra)}' if extra else ''}"
            f"{f' <em>({esc(event.environment)})</em>' if event.environment else ''}</li>"
        )
    return f'<ol class="timeline">{"".join(items)}</ol>' if items else "<p>No events.</p>"


def _lint(lint: Any) -> str:
    if not isinstance(lint, Mapping) or "findings" not in lint:
        return '<p class="empty">No lint findings recorded.</p>'
    rows = [
        [
            f'<span class="sev sev-{esc(f.severity)}">{esc(f.severity)}</span>',
            f"<code>{esc(f.id)}</code>",
            f"<code>{esc(f.object)}</code>",
            esc(f.message),
            esc(f.origin or f.path),
        ]
        for f in findings_from_json(lint)
    ]
    return table("Lint findings", ["severity", "rule", "object", "message", "where"], rows)


def observed_flows_html(diff: Any) -> str:
    """The replay of observed flows stored with the diff; "" when none was made."""
    replayed = diff.get("observed_flows") if isinstance(diff, Mapping) else None
    if not isinstance(replayed, Mapping):
        return ""
    cut, opened = replayed.get("cut") or [], replayed.get("opened") or []
    window = f" in the last {esc(replayed['window'])}" if replayed.get("window") else ""
    parts = [
        f'<section aria-labelledby="h-observed"><h2 id="h-observed">Observed traffic: '
        f"{len(cut)} cut, {len(opened)} newly allowed</h2>"
        f"<p>{int(replayed.get('flows') or 0):,} distinct flows seen{window} "
        f"({int(replayed.get('records') or 0):,} records) replayed against this change.</p>"
    ]
    for title, items in (("Flows this change would cut", cut), ("Flows it would allow", opened)):
        if items:
            rows = [
                [
                    f"<code>{esc(i['source'])} → {esc(i['destination'])} "
                    f"{esc(i['port'])}/{esc(i['protocol'])}</code>",
                    f"{int(i['count']):,}",
                    esc(str(i["last_seen"]).replace("T", " ").replace("Z", " UTC")),
                    esc(i["reason"]),
                ]
                for i in items
            ]
            parts.append(table(title, ["flow", "times", "last seen", "why"], rows))
    unresolved = replayed.get("unresolved") or []
    if unresolved:
        parts.append(
            f"<p>{len(unresolved)} unresolved endpoint(s): "
            + "; ".join(esc(u["flow"]) for u in unresolved[:5])
            + "</p>"
        )
    return "".join(parts) + "</section>"


# Where a development cluster's probes ran (SmokeReport.node), in words.
NODE_WORDS = {
    "real": "real containers and packets, NetworkPolicy enforced by kube-router",
    "simulated": "simulated; the policy engine judged every connection, no network plugin",
}


def _smoke(smoke: Any) -> str:
    if not isinstance(smoke, Mapping) or not smoke:
        return '<p class="empty">No smoke tests recorded yet.</p>'
    parts = []
    for env, result in smoke.items():
        if not isinstance(result, Mapping):
            continue
        verdict = "passed" if result.get("ok") else "failed"
        parts.append(
            f'<h3><span class="state state-{verdict}">{verdict}</span> in {esc(env)}: '
            f"{esc(result.get('summary', ''))}</h3>"
        )
        report = result.get("report")
        node = report.get("node") if isinstance(report, Mapping) else None
        if node in NODE_WORDS:
            parts.append(f'<p class="node">node: {esc(node)}: {NODE_WORDS[node]}</p>')
        checks = report.get("results") if isinstance(report, Mapping) else None
        if not isinstance(checks, Sequence) or isinstance(checks, str):
            continue
        results = [result_from_dict(c) for c in checks if isinstance(c, Mapping)]
        stated = SmokeReport(str(env), "", _EPOCH, _EPOCH, tuple(results))
        lines = stated.cause_lines()
        if lines:
            parts.append(
                '<ul class="causes">' + "".join(f"<li>{esc(x)}</li>" for x in lines) + "</ul>"
            )
        rows = [
            [
                esc(phase(c)),
                f'<span class="outcome outcome-{esc(c.outcome)}">{esc(c.outcome)}</span>',
                esc(c.name),
                esc(c.source),
                esc(f"{c.target}:{c.port}/{c.protocol}" if c.port else c.target),
                esc(c.expect),
                esc(c.observed or "—"),
                esc(stated.detail(c)),
            ]
            for c in results
        ]
        parts.append(
            table(
                f"Smoke checks in {env}",
                ["phase", "result", "check", "from", "to", "expect", "observed", "detail"],
                rows,
            )
        )
    return "".join(parts)


def _approvals(ctx: ServerContext, rollout: RolloutRecord, tz: ZoneInfo) -> str:
    rows = []
    for env in ctx.settings.environments:
        for a in ctx.store.approvals_for(rollout.id, env.name):
            rows.append(
                [
                    esc(a.environment),
                    f"<strong>{esc(a.member)}</strong>",
                    f'<span class="decision decision-{esc(a.decision)}">{esc(a.decision)}</span>',
                    esc(a.channel),
                    when(a.at, tz),
                    when(a.expires_at, tz) if a.expires_at else "—",
                    esc(a.reason or ""),
                ]
            )
    return table(
        "Approvals and rejections",
        ["environment", "member", "decision", "via", "when", "expires", "reason"],
        rows,
        class_="approvals",
    )


def _notifications(ctx: ServerContext, rollout: RolloutRecord, tz: ZoneInfo) -> str:
    rows = [
        [
            esc(item.channel),
            esc(item.event),
            f'<span class="delivery delivery-{esc(item.status)}">{esc(item.status)}</span>',
            esc(item.attempts),
            when(item.created_at, tz),
            esc(item.last_error or ""),
        ]
        for item in ctx.store.outbox_items(rollout_id=rollout.id)
    ]
    return table(
        "Notifications", ["channel", "event", "delivery", "attempts", "queued", "last error"], rows
    )


def actions_html(rollout: RolloutRecord, member: str | None, csrf: str) -> str:
    """The forms a signed-in member may use; a sign-in link otherwise."""
    if member is None:
        return f'<p><a href="/login?next=/rollouts/{esc(rollout.id)}">Sign in</a> to act.</p>'
    forms = []
    token = csrf_field(csrf)
    if rollout.state == State.AWAITING_APPROVAL.value:
        forms.append(
            f'<form method="post" action="/rollouts/{esc(rollout.id)}/approve">{token}'
            f'<button type="submit" class="approve">Approve {esc(rollout.id)}</button></form>'
        )
    if rollout.state in _REJECTABLE:
        forms.append(
            f'<form method="post" action="/rollouts/{esc(rollout.id)}/reject">{token}'
            f'<label for="reject-reason">Reason for rejecting</label>'
            f'<input id="reject-reason" name="reason" required maxlength="2000">'
            f'<button type="submit" class="reject">Reject</button></form>'
        )
    env = esc(rollout.environment)
    forms.append(
        f'<form method="post" action="/environments/{env}/hold">{token}'
        f'<label for="hold-reason">Reason for holding {env}</label>'
        f'<input id="hold-reason" name="reason" maxlength="2000">'
        f'<button type="submit">Hold {env}</button></form>'
        f'<form method="post" action="/environments/{env}/resume">{token}'
        f'<button type="submit">Resume {env}</button></form>'
    )
    return f'<div class="actions">{"".join(forms)}</div>'


def _signed(rollout: RolloutRecord) -> str:
    """`Signed by` from the signature git verified at detection (none: not checked)."""
    plan = rollout.plan if isinstance(rollout.plan, Mapping) else {}
    signature = plan.get("signature")
    if not isinstance(signature, Mapping):
        return ""
    if signature.get("verified") is True:
        key = f" <small>({esc(signature.get('kind'))} key {esc(signature.get('key'))})</small>"
        return f"<dt>Signed by</dt><dd>{esc(signature.get('signer'))}{key}</dd>"
    return f'<dt>Signed by</dt><dd class="bad">nobody trusted: {esc(signature.get("summary"))}</dd>'


def rollout_html(
    ctx: ServerContext,
    waiting: Waiting,
    rollout: RolloutRecord,
    tz: ZoneInfo,
    member: str | None,
    csrf: str,
) -> str:
    """The rollout page body (also its live-update fragment)."""
    now = ctx.clock()
    visited = visited_states(ctx.store.events(rollout_id=rollout.id, kinds=STATE_EVENTS, limit=500))
    return (
        f'<section class="summary" aria-label="Summary"><dl>'
        f"<dt>State</dt><dd>"
        f'<span class="stage" data-state="{esc(rollout.state)}">{state_badge(rollout.state)}'
        f"</span></dd>"
        f"<dt>Environment</dt><dd>{esc(rollout.environment)}</dd>"
        f"<dt>Commit</dt><dd>{short_sha(rollout.commit_sha)} {esc(rollout.message)}</dd>"
        f"<dt>Author</dt><dd>{esc(rollout.author)}</dd>"
        f"{_signed(rollout)}"
        f"<dt>Previous</dt><dd>{short_sha(rollout.previous_sha)}</dd>"
        f"<dt>{waiting.label(rollout)}</dt><dd>{waiting.reason(rollout, now, tz)}</dd></dl>"
        f"{stage_steps(rollout, visited)}</section>"
        f"{fleet_html(ctx, rollout, tz)}"
        f'<section aria-labelledby="h-actions"><h2 id="h-actions">Actions</h2>'
        f"{actions_html(rollout, member, csrf)}</section>"
        f'<section aria-labelledby="h-timeline"><h2 id="h-timeline">Timeline</h2>'
        f"{_timeline(ctx, rollout, tz)}</section>"
        f'<section aria-labelledby="h-diff"><h2 id="h-diff">Connectivity diff: '
        f"{esc(heading(rollout.diff))}</h2>{graph_svg(rollout.diff)}"
        f"{diff_table(rollout.diff)}</section>"
        f"{observed_flows_html(rollout.diff)}"
        f'<section aria-labelledby="h-lint"><h2 id="h-lint">Lint</h2>{_lint(rollout.lint)}'
        f"</section>"
        f'<section aria-labelledby="h-smoke"><h2 id="h-smoke">Smoke tests</h2>'
        f"{_smoke(rollout.smoke)}</section>"
        f'<section aria-labelledby="h-approvals"><h2 id="h-approvals">Approvals</h2>'
        f"{_approvals(ctx, rollout, tz)}</section>"
        f'<section aria-labelledby="h-notes"><h2 id="h-notes">Notifications</h2>'
        f"{_notifications(ctx, rollout, tz)}</section>"
    )
