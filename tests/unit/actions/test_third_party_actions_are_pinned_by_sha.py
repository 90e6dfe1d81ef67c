"""Every third-party action in workflows/ and action.yml is pinned by a full commit
sha, with the release it is in a comment (`@<40 hex> # vX.Y.Z`): a moved tag
cannot change what runs. Our own action (`OWNER/netpol-rollout`) is exempt: the
README says how users pin it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[3]
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$")
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _uses() -> list[tuple[str, str, str]]:
    found = []
    for path in [*sorted((ROOT / "workflows").glob("*.yml")), ROOT / "action.yml"]:
        for line in path.read_text().splitlines():
            match = USES.match(line)
            if match and not line.lstrip().startswith("#"):
                found.append((path.name, match["ref"], match["rest"]))
    return found


def test_third_party_actions_are_pinned_by_full_sha_with_the_tag_in_a_comment() -> None:
    uses = [(f, ref, rest) for f, ref, rest in _uses() if not ref.startswith("OWNER/")]
    assert uses, "no third-party actions found: did the workflows move?"
    loose = [
        f"{f}: {ref}{rest}"
        for f, ref, rest in uses
        if not PINNED.match(ref) or not re.match(r"\s+# v\d+\.\d+\.\d+$", rest)
    ]
    assert loose == []
