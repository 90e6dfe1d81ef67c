"""The shell steps of docs/getting-started.md, exactly as a reader copies them."""

from __future__ import annotations

import re
from pathlib import Path

GUIDE = Path(__file__).parents[3] / "docs" / "getting-started.md"

_SECTION = re.compile(r"^## (\d+)\. ", re.MULTILINE)
_SH_BLOCK = re.compile(r"^```sh\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def sections(text: str | None = None) -> dict[int, str]:
    """Section number -> its text (from its `## N.` heading to the next one)."""
    text = GUIDE.read_text() if text is None else text
    starts = list(_SECTION.finditer(text))
    out: dict[int, str] = {}
    for here, after in zip(starts, [*starts[1:], None], strict=True):
        out[int(here.group(1))] = text[here.start() : after.start() if after else len(text)]
    return out


def shell_blocks(section: int) -> list[str]:
    """The ```sh blocks of one section, in order, verbatim."""
    return _SH_BLOCK.findall(sections()[section])
