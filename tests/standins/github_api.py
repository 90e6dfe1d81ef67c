"""A stand-in for the GitHub REST API parts netpol-rollout uses, served under
`/api/v3` like GitHub Enterprise: commit statuses, the pull requests of a
commit, issue comments (list with Link pagination, create, edit) and
commit comments (create)."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

from tests.standins import Recorded, Reply, StandIn

PREFIX = "/api/v3"
STATES = {"error", "failure", "pending", "success"}


@dataclass
class Comment:
    id: int
    issue: int
    body: str
    edits: int = 0


class GitHubStandIn(StandIn):
    def __init__(
        self, token: str = "ghp_standinToken0123456789abcdef", repo: str = "acme/policies"
    ):
        super().__init__()
        self.token = token
        self.repo = repo
        self.pulls: dict[str, list[int]] = {}
        self.comments: dict[int, Comment] = {}
        self.statuses: list[tuple[str, dict[str, Any]]] = []
        self.commit_comments: list[tuple[str, str]] = []
        """(commit sha, body) of every comment created on a commit."""
        self.page_size = 2  # small, so pagination is exercised
        self._ids = itertools.count(9001)

    @property
    def api_url(self) -> str:
        return f"{self.origin}{PREFIX}"

    def add_pull(self, sha: str, number: int) -> None:
        self.pulls.setdefault(sha, []).append(number)

    def add_comment(self, issue: int, body: str) -> int:
        comment = Comment(next(self._ids), issue, body)
        self.comments[comment.id] = comment
        return comment.id

    def comments_on(self, issue: int) -> list[Comment]:
        return [c for c in self.comments.values() if c.issue == issue]

    def calls(self, method: str, pattern: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and re.search(pattern, r.path)]

    def _check_headers(self, request: Recorded) -> bool:
        if request.header("Authorization") != f"Bearer {self.token}":
            return False
        if request.header("Accept") != "application/vnd.github+json":
            self.violation(f"{request.path}: Accept {request.header('Accept')!r}")
        if request.header("X-GitHub-Api-Version") != "2022-11-28":
            self.violation(f"{request.path}: X-GitHub-Api-Version missing or wrong")
        if request.method in ("POST", "PATCH"):
            content_type = request.header("Content-Type") or ""
            if not content_type.startswith("application/json"):
                self.violation(f"{request.path}: content type {content_type!r}")
        return True

    def route(self, request: Recorded) -> Reply:
        if not request.path.startswith(f"{PREFIX}/repos/{self.repo}/"):
            self.violation(f"unexpected path {request.method} {request.path}")
            return Reply(404, {"message": "Not Found"})
        if not self._check_headers(request):
            return Reply(401, {"message": "Bad credentials"})
        rest = request.path.removeprefix(f"{PREFIX}/repos/{self.repo}/")
        body = request.json if request.body else None
        if m := re.fullmatch(r"statuses/([0-9a-f]{7,40})", rest):
            if request.method == "POST":
                return self._status(m.group(1), body)
        elif m := re.fullmatch(r"commits/([0-9a-f]{7,40})/pulls", rest):
            if request.method == "GET":
                numbers = self.pulls.get(m.group(1), [])
                return Reply(200, [{"number": n, "state": "open"} for n in numbers])
        elif m := re.fullmatch(r"issues/(\d+)/comments", rest):
            if request.method == "GET":
                return self._list(request, int(m.group(1)))
            if request.method == "POST":
                return self._create(int(m.group(1)), body)
        elif (m := re.fullmatch(r"issues/comments/(\d+)", rest)) and request.method == "PATCH":
            return self._edit(int(m.group(1)), body)
        elif (m := re.fullmatch(r"commits/([0-9a-f]{7,40})/comments", rest)) and (
            request.method == "POST"
        ):
            return self._commit_comment(m.group(1), body)
        self.violation(f"unexpected {request.method} {request.path}")
        return Reply(404, {"message": "Not Found"})

    def _status(self, sha: str, body: Any) -> Reply:
        if not isinstance(body, dict) or body.get("state") not in STATES:
            return Reply(422, {"message": "Validation Failed"})
        if len(body.get("description") or "") > 140:
            return Reply(422, {"message": "description is too long (maximum is 140 characters)"})
        if set(body) - {"state", "target_url", "description", "context"}:
            self.violation(f"unknown status fields {sorted(body)}")
        self.statuses.append((sha, body))
        return Reply(201, {"id": len(self.statuses), **body})

    def _list(self, request: Recorded, issue: int) -> Reply:
        per_page = min(int(request.query.get("per_page", ["30"])[0]), self.page_size)
        page = int(request.query.get("page", ["1"])[0])
        items = sorted(self.comments_on(issue), key=lambda c: c.id)
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(items):
            next_url = (
                f"{self.api_url}/repos/{self.repo}/issues/{issue}/comments"
                f"?per_page={per_page}&page={page + 1}"
            )
            headers["Link"] = f'<{next_url}>; rel="next"'
        return Reply(200, [{"id": c.id, "body": c.body} for c in chunk], headers)

    def _create(self, issue: int, body: Any) -> Reply:
        if not isinstance(body, dict) or not body.get("body"):
            return Reply(422, {"message": "Validation Failed"})
        comment_id = self.add_comment(issue, body["body"])
        return Reply(201, {"id": comment_id, "body": body["body"]})

    def _commit_comment(self, sha: str, body: Any) -> Reply:
        if not isinstance(body, dict) or not body.get("body"):
            return Reply(422, {"message": "Validation Failed"})
        if set(body) - {"body", "path", "position", "line"}:
            self.violation(f"unknown commit comment fields {sorted(body)}")
        self.commit_comments.append((sha, body["body"]))
        return Reply(201, {"id": next(self._ids), "commit_id": sha, "body": body["body"]})

    def _edit(self, comment_id: int, body: Any) -> Reply:
        comment = self.comments.get(comment_id)
        if comment is None:
            return Reply(404, {"message": "Not Found"})
        if not isinstance(body, dict) or not body.get("body"):
            return Reply(422, {"message": "Validation Failed"})
        comment.body = body["body"]
        comment.edits += 1
        return Reply(200, {"id": comment.id, "body": comment.body})
