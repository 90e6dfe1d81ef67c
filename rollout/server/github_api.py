"""GitHub's REST API as the webhook needs it: a pull request's head, reply comments.

Both take the bot token; failures are logged (the head lookup) or raised as
`NotificationError` without secrets (the reply poster).
"""

from __future__ import annotations

import logging
import re

import requests

from rollout.errors import NotificationError
from rollout.server.context import CommentPoster, CommentTarget, PullRequestHead

log = logging.getLogger(__name__)

_REPOSITORY = re.compile(r"[\w.-]+/[\w.-]+")
_SHA = re.compile(r"[0-9a-f]{7,40}")


def _api_headers(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }


def github_pull_request_head(api_url: str, token: str, timeout: float = 10.0) -> PullRequestHead:
    """The default head-sha lookup: GET /repos/{repo}/pulls/{number} with the bot token."""

    def head(repository: str, number: int) -> str | None:
        try:
            response = requests.get(
                f"{api_url.rstrip('/')}/repos/{repository}/pulls/{number}",
                headers=_api_headers(token),
                timeout=timeout,
            )
        except requests.RequestException as exc:
            log.warning("GitHub pull request lookup failed: %s", type(exc).__name__)
            return None
        if response.status_code != 200:
            log.warning("GitHub pull request lookup answered %s", response.status_code)
            return None
        sha = response.json().get("head", {}).get("sha")
        return str(sha) if sha else None

    return head


def github_comment_poster(api_url: str, token: str, timeout: float = 10.0) -> CommentPoster:
    """The default reply poster: a pull request's (issue) or a commit's comments.

    `POST /repos/{repo}/issues/{n}/comments` or `/repos/{repo}/commits/{sha}/comments`
    with the bot token. Raises NotificationError (secret-free) when GitHub refuses
    or cannot be reached, or the target is malformed.
    """

    def post(target: CommentTarget, body: str) -> None:
        if not _REPOSITORY.fullmatch(target.repository):
            raise NotificationError(f"not a GitHub repository: {target.repository!r}")
        base = f"{api_url.rstrip('/')}/repos/{target.repository}"
        if target.issue is not None:
            url = f"{base}/issues/{int(target.issue)}/comments"
        elif target.commit_sha is not None and _SHA.fullmatch(target.commit_sha):
            url = f"{base}/commits/{target.commit_sha}/comments"
        else:
            raise NotificationError("a reply needs a pull request number or a commit sha")
        try:
            response = requests.post(
                url, json={"body": body}, headers=_api_headers(token), timeout=timeout
            )
        except requests.RequestException as exc:
            raise NotificationError(f"GitHub reply comment failed: {type(exc).__name__}") from exc
        if response.status_code >= 300:
            raise NotificationError(f"GitHub answered {response.status_code} to a reply comment")

    return post
