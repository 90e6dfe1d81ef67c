"""The shapes of signed Slack and GitHub payloads we act on, as pydantic models.

A signature says who sent a body, not that it is well formed: every field we
read is validated here (strict types, no coercion), and a body that does not
fit is answered 400 with `short_reason`, which names the field and never
echoes its value. JSON is parsed by pydantic (its Rust parser has a nesting
limit, so 100k-deep arrays are an error, not a RecursionError). Unknown
fields are ignored: Slack and GitHub add fields all the time.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

__all__ = [
    "EVENTS",
    "CommitComment",
    "IssueComment",
    "Ping",
    "PullRequestChange",
    "PullRequestReview",
    "Push",
    "Repository",
    "SlackInteraction",
    "parse_json",
    "short_reason",
]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


Model = TypeVar("Model", bound=_Payload)


def short_reason(exc: ValidationError) -> str:
    """`issue.number: Input should be a valid integer` (the first error; never the input)."""
    errors = exc.errors(include_input=False, include_url=False, include_context=False)
    if not errors:
        return "malformed payload"
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"])
    if first["type"] == "json_invalid":
        message = "not valid JSON" + (" (nested too deeply)" if "recursion" in message else "")
    text = f"{where}: {message}" if where else message
    return text[:160]


def parse_json(model: type[Model], body: bytes | str) -> Model:
    """`model` from a JSON document; raises pydantic's ValidationError (see `short_reason`)."""
    return model.model_validate_json(body)


# --- Slack -----------------------------------------------------------------------------


class SlackUser(_Payload):
    id: StrictStr = Field(max_length=64)


class SlackAction(_Payload):
    action_id: StrictStr = Field(max_length=255)
    value: StrictStr = Field(default="", max_length=2000)


class SlackInputValue(_Payload):
    value: StrictStr | None = None


class SlackViewState(_Payload):
    values: dict[StrictStr, dict[StrictStr, SlackInputValue]] = {}


class SlackView(_Payload):
    callback_id: StrictStr = ""
    private_metadata: StrictStr = ""
    state: SlackViewState = SlackViewState()


class SlackInteraction(_Payload):
    """A `block_actions` (button) or `view_submission` (modal) interaction payload."""

    type: StrictStr = ""
    user: SlackUser
    trigger_id: StrictStr | None = None
    response_url: StrictStr = ""
    actions: list[SlackAction] = []
    view: SlackView | None = None


# --- GitHub ----------------------------------------------------------------------------


class Repository(_Payload):
    full_name: StrictStr


class Login(_Payload):
    login: StrictStr


class _Delivery(_Payload):
    action: StrictStr = ""
    repository: Repository | None = None


class Comment(_Payload):
    id: StrictInt
    body: StrictStr | None = None
    user: Login
    created_at: datetime | None = Field(default=None, strict=False)
    commit_id: StrictStr | None = None


class Issue(_Payload):
    number: StrictInt
    pull_request: dict[StrictStr, object] | None = None


class IssueComment(_Delivery):
    """`issue_comment`: a comment on an issue or a pull request."""

    issue: Issue
    comment: Comment


class CommitComment(_Delivery):
    """`commit_comment`: a comment on a commit (`comment.commit_id`)."""

    comment: Comment


class Review(_Payload):
    id: StrictInt
    state: StrictStr
    user: Login
    commit_id: StrictStr | None = None


class PullRequestRef(_Payload):
    sha: StrictStr


class PullRequest(_Payload):
    number: StrictInt
    head: PullRequestRef | None = None
    user: Login | None = None
    merge_commit_sha: StrictStr | None = None


class PullRequestReview(_Delivery):
    """`pull_request_review`: an approving review counts as an approval."""

    review: Review
    pull_request: PullRequest


class GitUser(_Payload):
    """A push commit's author or committer; `username` when GitHub knows the account."""

    name: StrictStr | None = None
    email: StrictStr | None = None
    username: StrictStr | None = None


class PushCommit(_Payload):
    id: StrictStr
    author: GitUser | None = None
    committer: GitUser | None = None


class Push(_Delivery):
    """`push`: handed to the git watcher (which reads `ref` and `after`).

    The commits' GitHub accounts are remembered for matching authors to members.
    """

    ref: StrictStr | None = None
    after: StrictStr | None = None
    commits: list[PushCommit] = []


class PullRequestChange(_Delivery):
    """`pull_request`: who opened it and who pushed to it, for matching authors."""

    pull_request: PullRequest
    sender: Login | None = None


class Ping(_Delivery):
    zen: StrictStr | None = None


EVENTS: dict[str, type[_Delivery]] = {
    "issue_comment": IssueComment,
    "commit_comment": CommitComment,
    "pull_request_review": PullRequestReview,
    "push": Push,
    "pull_request": PullRequestChange,
    "ping": Ping,
}
"""The events we read; any other event is acknowledged and ignored unparsed."""
