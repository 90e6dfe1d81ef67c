"""Who wrote a commit, matched to roster members (pure).

A commit names people as `Name <email>`: its author, its committer and the
`Co-authored-by:` trailers of its message. A member is one of them when any
identity the member is known by matches: the member's name or aliases, any of
their emails, their GitHub login, GitHub's no-reply address for that login, or
an email whose local part is the member's name or login. The last rule errs
towards "is an author": for self-approval a false match only asks for another
approver, while a missed one lets an author approve their own change.

GitHub says which account pushed or wrote a commit (the push payload's
`commits[].author.username`, a pull request's `user.login`): such a person
carries the login, written `Name <email> (@login)`, and is the member with
that `github` login. `link_logins` gives every person whose email GitHub
linked to an account that account's login.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_PERSON = re.compile(r"^\s*(?P<name>[^<>]*?)\s*<(?P<email>[^<>\s]+)>\s*$")
_LOGIN = re.compile(r"^(?P<rest>.*?)\s*\(?@(?P<login>[A-Za-z0-9][A-Za-z0-9-]*)\)?\s*$")
_CO_AUTHOR = re.compile(r"^[ \t]*co-authored-by:[ \t]*(?P<person>.+?)[ \t]*$", re.I | re.M)
GITHUB_NOREPLY = "users.noreply.github.com"


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    login: str = ""
    """The GitHub account GitHub said this is (a push or pull request payload)."""

    def text(self) -> str:
        text = f"{self.name} <{self.email}>".strip() if self.email else self.name
        if not self.login:
            return text
        return f"{text} (@{self.login})" if text else f"@{self.login}"


def person(text: str) -> Person:
    """`Name <email>`, `Name <email> (@login)`, `@login`, or a bare name or email."""
    login = ""
    found = _LOGIN.match(text)
    if found and (not found["rest"] or found["rest"].rstrip().endswith(">")):
        text, login = found["rest"], found["login"]
    match = _PERSON.match(text)
    if match:
        return Person(match["name"], match["email"], login)
    text = text.strip()
    return Person("", text, login) if "@" in text else Person(text, "", login)


def link_logins(people: Iterable[Person], linked: Iterable[Person]) -> list[Person]:
    """`people`, each given the login GitHub linked to their email in `linked`."""
    logins = {p.email.casefold(): p.login for p in linked if p.email and p.login}
    return [
        p if p.login or not p.email else Person(p.name, p.email, logins.get(p.email.casefold(), ""))
        for p in people
    ]


def co_authors(message: str) -> list[Person]:
    """The `Co-authored-by: Name <email>` trailers of a commit message."""
    return [person(m["person"]) for m in _CO_AUTHOR.finditer(message)]


def commit_people(
    author: Person, committer: Person | None = None, message: str = ""
) -> tuple[Person, ...]:
    """Everyone a commit names, author first, each once."""
    people = [author, *co_authors(message)]
    if committer is not None:
        people.append(committer)
    seen: dict[tuple[str, str], Person] = {}
    for p in people:
        seen.setdefault((p.name.casefold(), p.email.casefold()), p)
    return tuple(seen.values())


def member_keys(
    name: str, aliases: Iterable[str], emails: Iterable[str], github: str | None
) -> tuple[frozenset[str], frozenset[str]]:
    """(identities to match exactly, logins/names an email's local part may carry)."""
    exact = {name, *aliases, *emails}
    local = {name}
    if github:
        exact.add(github)
        local.add(github)
    return (
        frozenset(k.strip().casefold() for k in exact if k and k.strip()),
        frozenset(k.casefold() for k in local),
    )


def matches(
    exact: frozenset[str], local: frozenset[str], who: Person, github: str | None = None
) -> bool:
    """Whether a member known by (`exact`, `local`, GitHub login `github`) is `who`."""
    if who.login and github and who.login.casefold() == github.casefold():
        return True
    if who.name and who.name.strip().casefold() in exact:
        return True
    email = who.email.strip().casefold()
    if not email:
        return False
    if email in exact:
        return True
    user, _, domain = email.partition("@")
    if domain == GITHUB_NOREPLY:
        user = user.split("+", 1)[-1]  # 12345+login@users.noreply.github.com
    return user.split("+", 1)[0] in local or user in local
