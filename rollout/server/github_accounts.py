"""The GitHub accounts a signed push or pull-request delivery names, per commit.

GitHub links a commit's email to an account (`commits[].author.username` in a
push) and says who opened a pull request (`user.login`) and who pushed to it
(`sender`). The git history knows none of this, and a member is often known to
the roster only by their login; so each delivery's accounts are recorded (the
`github.accounts` event, see :mod:`rollout.approval_rules`) and approvals match
authors with them, whichever comes first, the delivery or the rollout.
"""

from __future__ import annotations

from rollout.core.identities import Person
from rollout.server.payloads import GitUser, PullRequestChange, Push

Accounts = dict[str, dict[str, list[str]]]
"""{sha: {"authors": [person text], "committers": [person text]}}"""

# A pull request's `sender` on these actions merged or closed it; they wrote nothing.
_NOT_WRITING = frozenset({"closed", "assigned", "labeled", "unlabeled", "review_requested"})


def _person(user: GitUser | None) -> str | None:
    if user is None or not user.username:
        return None
    return Person(user.name or "", user.email or "", user.username).text()


def _add(accounts: Accounts, sha: str, role: str, text: str | None) -> None:
    if text:
        people = accounts.setdefault(sha, {}).setdefault(role, [])
        if text not in people:
            people.append(text)


def push_accounts(push: Push) -> Accounts:
    """Each pushed commit's author and committer that GitHub matched to an account."""
    accounts: Accounts = {}
    for commit in push.commits:
        _add(accounts, commit.id, "authors", _person(commit.author))
        _add(accounts, commit.id, "committers", _person(commit.committer))
    return accounts


def pull_request_accounts(change: PullRequestChange) -> Accounts:
    """The pull request's author (and who pushed to it) for its head and merge commits."""
    pull = change.pull_request
    shas = [s for s in (pull.head.sha if pull.head else None, pull.merge_commit_sha) if s]
    accounts: Accounts = {}
    for sha in shas:
        if pull.user is not None:
            _add(accounts, sha, "authors", Person("", "", pull.user.login).text())
        if change.sender is not None and change.action not in _NOT_WRITING:
            _add(accounts, sha, "committers", Person("", "", change.sender.login).text())
    return accounts
