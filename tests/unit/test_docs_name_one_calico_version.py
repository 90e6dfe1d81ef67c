"""The docs install one Calico version everywhere (a reader following two pages
must not end up with two)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_every_calico_manifest_url_names_the_same_version() -> None:
    versions = {
        match
        for path in [*ROOT.glob("docs/*.md"), ROOT / "README.md"]
        for match in re.findall(r"projectcalico/calico/(v[\d.]+)/", path.read_text())
    }
    assert len(versions) == 1, versions
