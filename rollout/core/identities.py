"""Who wrote a commit, matched to roster members (pure).

A commit names people as `Name <email>`: its author, its committer and the
`Co-authored-by:` trailers of its message. A member is one of them when any
identity the member is known by matches: the member's name or aliases, any of
their emails, their GitHub login, GitHub's no-reply address for that login, or
an email whose local part is the member's name or login. The last rule errs
towards "is an author": for self-approval a false match only asks for another
approver, while a missed one lets an author approve their own change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_PERSON = re.compile(r"^\s*(?P<name>[^<>]*?)\s*<(?P<email>[^<>\s]+)>\s*$")
_CO_AUTHOR = re.compile(r"^[ \t]*co-authored-by:[ \t]*(?P<person>.+?)[ \t]*$", re.I | re.M)
GITHUB_NOREPLY = "users.noreply.github.com"


@dataclass(frozen=True)
class Person:
    name: str
    email: str

    def text(self) -> str:
        return f"{self.name} <{self.email}>".strip() if self.email else self.name


def person(text: str) -> Person:
    """`Name <email>` (or a bare name, email or login) as a Person."""
    match = _PERSON.match(text)
    if match:
        return Person(match["name"], match["email"])
    text = text.strip()
    return Person("", text) if "@" in text else Person(text, "")


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


def matches(exact: frozenset[str], local: frozenset[str], who: Person) -> bool:
    """Whether a member known by (`exact`, `local`) is `who`."""
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
