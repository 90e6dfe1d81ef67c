"""GitHub: a commit status per environment and one plan comment per pull request.

The comment carries the hidden marker `<!-- netpol-rollout:plan -->` and is
edited in place: the stored external reference (comment id) is tried first,
then the pull request's comments are searched for the marker, and only if
neither exists is a new comment created. The API base URL is configurable
(GitHub Enterprise: `https://HOST/api/v3`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import requests

from rollout.config.schema import GitHubSettings
from rollout.core.events import EventType, RolloutEvent
from rollout.errors import ConfigError
from rollout.notify.render import approvals_text, lint_text, smoke_text, status_line, utc_text
from rollout.notify.worker import Delivery, DeliveryError

MARKER = "<!-- netpol-rollout:plan -->"
API_VERSION = "2022-11-28"
MAX_DESCRIPTION = 140

_STATE: dict[EventType, str] = {
    EventType.ROLLOUT_DETECTED: "pending",
    EventType.ROLLOUT_VALIDATED: "pending",
    EventType.STAGING_APPLIED: "pending",
    EventType.SMOKE_PASSED: "success",
    EventType.SMOKE_FAILED: "failure",
    EventType.STAGING_ROLLED_BACK: "failure",
    EventType.APPROVAL_REQUESTED: "pending",
    EventType.APPROVAL_GRANTED: "pending",
    EventType.ROLLOUT_REJECTED: "failure",
    EventType.PRODUCTION_SCHEDULED: "pending",
    EventType.PRODUCTION_APPLIED: "success",
    EventType.PRODUCTION_FAILED: "error",
}


def status_context(environment: str) -> str:
    return f"netpol-rollout/{environment}"


def commit_state(event: RolloutEvent) -> str | None:
    """The commit status state for an event, or None when it sets none."""
    return _STATE.get(event.type)


def comment_body(event: RolloutEvent) -> str:
    """The PR comment: marker, current stage, plan and connectivity diff."""
    lines = [MARKER, "### netpol-rollout plan", ""]
    if event.commit:
        lines.append(f"**Commit** `{event.commit.short_sha}` by {event.commit.author}")
    lines.append(f"**Stage** {status_line(event)} — {utc_text(event.occurred_at)}")
    if event.url:
        lines.append(f"**Details** {event.url}")
    if event.plan:
        lines += ["", "#### Plan", ""]
        lines += [f"- apply `{name}`" for name in event.plan.apply]
        lines += [f"- prune `{name}`" for name in event.plan.prune]
        if not (event.plan.apply or event.plan.prune):
            lines.append("No changes.")
    if event.diff:
        lines += [
            "",
            "#### Connectivity diff",
            "",
            f"{event.diff.opened} flow(s) opened, {event.diff.closed} closed",
        ]
        if event.diff.fleet:
            lines += ["", f"**Fleet:** {event.diff.fleet}"]
        if event.diff.observed:
            lines += ["", f"**Observed traffic:** {event.diff.observed}"]
        if event.diff.riskiest:
            lines += ["", "Riskiest changes:", "", "```diff", *event.diff.riskiest, "```"]
    for title, body in (
        ("Lint", lint_text(event)),
        ("Smoke tests", smoke_text(event)),
        ("Approvals", approvals_text(event)),
    ):
        if body:
            lines += ["", f"#### {title}", "", body]
    if event.fleet:
        lines += ["", f"#### Clusters of {event.fleet.environment}", "", *fleet_table(event)]
    if event.next_window:
        lines += ["", f"**Next window** {utc_text(event.next_window.start)}"]
    if event.reason:
        lines += ["", f"**Reason** {event.reason}"]
    return "\n".join(lines) + "\n"


def fleet_table(event: RolloutEvent) -> list[str]:
    """A Markdown table of the fleet: a row per cluster, then the next wave."""
    fleet = event.fleet
    assert fleet is not None
    phases = {w.name: w.phase for w in fleet.waves}
    lines = [
        fleet.progress_text(),
        "",
        "| Wave | Phase | Cluster | State | Revision |",
        "|---|---|---|---|---|",
    ]
    for c in fleet.clusters:
        if c.changing:
            revision = f"changing → `{c.target[:8]}`"
        else:
            revision = f"`{c.revision[:8]}`" if c.revision else "none"
        lines.append(f"| {c.wave} | {phases[c.wave]} | {c.cluster} | {c.state} | {revision} |")
    lines += ["", *(f"**{c.cluster} failed:** {c.failure}" for c in fleet.clusters if c.failure)]
    if fleet.next_wave and fleet.soak_until:
        lines.append(
            f"**Next wave** {fleet.next_wave} after its soak, {utc_text(fleet.soak_until)}"
        )
    elif fleet.next_wave and fleet.next_window:
        window = fleet.next_window
        lines.append(
            f"**Next wave** {fleet.next_wave}: {utc_text(window.start)} – {utc_text(window.end)}"
        )
    return [line for i, line in enumerate(lines) if line or (i and lines[i - 1])]


class GitHubChannel:
    def __init__(
        self,
        settings: GitHubSettings,
        *,
        timeout: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        self._settings = settings
        self._timeout = timeout
        self._session = session or requests.Session()
        self._base = settings.api_url.rstrip("/")

    def secrets(self) -> Sequence[str]:
        try:
            return (self._settings.token.resolve(),)
        except ConfigError:
            return ()

    def deliver(self, delivery: Delivery) -> str | None:
        event = delivery.event
        if event.commit is None or event.environment is None:
            return delivery.external_ref  # nothing GitHub can show
        try:
            token = self._settings.token.resolve()
        except ConfigError as exc:
            raise DeliveryError(f"GitHub is misconfigured: {exc}") from None
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "netpol-rollout",
        }
        state = commit_state(event)
        if state is not None:
            self._set_status(headers, event, state)
        return self._upsert_comment(headers, event, delivery.external_ref)

    # --- requests -----------------------------------------------------------------

    def _request(
        self, method: str, path: str, headers: dict[str, str], body: Any = None, ok404: bool = False
    ) -> requests.Response | None:
        url = path if path.startswith("http") else f"{self._base}{path}"
        try:
            response = self._session.request(
                method, url, headers=headers, json=body, timeout=self._timeout
            )
        except requests.RequestException as exc:
            raise DeliveryError(f"GitHub unreachable: {type(exc).__name__}") from None
        if response.status_code == 404 and ok404:
            return None
        if response.status_code >= 400:
            status = response.status_code
            retry_after = response.headers.get("Retry-After")
            limited = status in (429, 503) or (
                status == 403 and response.headers.get("X-RateLimit-Remaining") == "0"
            )
            what = f"{method} {path.split('?')[0]}"
            raise DeliveryError(
                f"GitHub refused {what}: HTTP {status}",
                retry_after=float(retry_after) if limited and retry_after else None,
                permanent=status in (400, 401, 404, 410, 422) and not limited,
            )
        return response

    def _set_status(self, headers: dict[str, str], event: RolloutEvent, state: str) -> None:
        assert event.commit is not None and event.environment is not None
        description = status_line(event)
        body: dict[str, Any] = {
            "state": state,
            "description": description[:MAX_DESCRIPTION],
            "context": status_context(event.environment),
        }
        if event.url:
            body["target_url"] = event.url
        self._request(
            "POST", f"/repos/{self._settings.repository}/statuses/{event.commit.sha}", headers, body
        )

    def _pull_number(self, headers: dict[str, str], sha: str) -> int | None:
        response = self._request(
            "GET", f"/repos/{self._settings.repository}/commits/{sha}/pulls", headers, ok404=True
        )
        if response is None:
            return None
        pulls = response.json()
        if not pulls:
            return None
        open_first = sorted(pulls, key=lambda p: (p.get("state") != "open", p["number"]))
        return int(open_first[0]["number"])

    def _find_marked_comment(self, headers: dict[str, str], number: int) -> int | None:
        url: str | None = (
            f"/repos/{self._settings.repository}/issues/{number}/comments?per_page=100"
        )
        while url:
            response = self._request("GET", url, headers)
            assert response is not None
            for comment in response.json():
                if MARKER in (comment.get("body") or ""):
                    return int(comment["id"])
            url = response.links.get("next", {}).get("url")
        return None

    def _upsert_comment(
        self, headers: dict[str, str], event: RolloutEvent, stored_ref: str | None
    ) -> str | None:
        assert event.commit is not None
        body = {"body": comment_body(event)}
        repo = self._settings.repository
        if stored_ref and stored_ref.isdigit():
            patched = self._request(
                "PATCH", f"/repos/{repo}/issues/comments/{stored_ref}", headers, body, ok404=True
            )
            if patched is not None:
                return stored_ref
        number = self._pull_number(headers, event.commit.sha)
        if number is None:
            return None  # pushed without a pull request: statuses only
        existing = self._find_marked_comment(headers, number)
        if existing is not None:
            self._request("PATCH", f"/repos/{repo}/issues/comments/{existing}", headers, body)
            return str(existing)
        response = self._request("POST", f"/repos/{repo}/issues/{number}/comments", headers, body)
        assert response is not None
        return str(response.json()["id"])
