"""The rollout page's fleet section: a row per cluster under its wave, the next wave."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from rollout.core.fleet_status import FleetStatus
from rollout.fleet_view import rollout_fleets
from rollout.server.context import ServerContext
from rollout.server.dashboard.markup import esc, short_sha, state_badge, table, when
from rollout.store.records import RolloutRecord


def fleet_html(ctx: ServerContext, rollout: RolloutRecord, tz: ZoneInfo) -> str:
    """A section per fleet environment of the rollout; "" for one-cluster environments."""
    statuses = rollout_fleets(
        ctx.settings, rollout.environment, ctx.store.fleet_clusters(rollout.id), ctx.clock()
    )
    return "".join(_section(status, tz) for status in statuses)


def _section(status: FleetStatus, tz: ZoneInfo) -> str:
    env = esc(status.environment)
    phases = {w.name: w for w in status.waves}
    rows = []
    shown: set[str] = set()
    for line in status.clusters:
        wave = phases[line.wave]
        first = line.wave not in shown
        shown.add(line.wave)
        if line.changing:
            revision = f"changing → {short_sha(line.target)}"
        else:
            revision = short_sha(line.revision) if line.revision else "none"
        rows.append(
            [
                f"<strong>{esc(wave.name)}</strong>" if first else "",
                (
                    f'<span class="wave wave-{esc(wave.phase)}">{esc(wave.phase)}</span> '
                    f"{wave.verified}/{len(wave.clusters)}"
                )
                if first
                else "",
                f"<code>{esc(line.cluster)}</code>",
                state_badge(str(line.state)),
                revision,
                esc(line.failure or ""),
            ]
        )
    if status.next_wave and status.soak_until:
        next_line = (
            f"Next wave <strong>{esc(status.next_wave)}</strong> after its soak, "
            f"{when(status.soak_until, tz)}."
        )
    elif status.next_wave and status.next_window:
        window = status.next_window
        next_line = (
            f"Next wave <strong>{esc(status.next_wave)}</strong> in its window "
            f"{when(window.start, tz)} – {when(window.end, tz)}."
        )
    elif status.next_wave:
        next_line = f"Next wave <strong>{esc(status.next_wave)}</strong>: any time."
    else:
        next_line = ""
    return (
        f'<section aria-labelledby="h-fleet-{env}" class="fleet">'
        f'<h2 id="h-fleet-{env}">Clusters of {env}: {esc(status.progress_text())}</h2>'
        + table(
            f"Each cluster of {status.environment}: its wave, state and the revision it runs",
            ["wave", "phase", "cluster", "state", "runs", "failure"],
            rows,
            class_="fleet-clusters",
        )
        + (f'<p class="next-wave">{next_line}</p>' if next_line else "")
        + "</section>"
    )
