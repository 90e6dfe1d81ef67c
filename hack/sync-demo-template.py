#!/usr/bin/env python3
"""Copy examples/policy-repo into rollout/demo/template, the repository `rollout demo` starts from.

The package ships its own copy so `rollout demo` works from an installed wheel.

    hack/sync-demo-template.py          copy (replaces the template)
    hack/sync-demo-template.py --check  exit 1 and list the differences if out of sync
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "examples" / "policy-repo"
TARGET = ROOT / "rollout" / "demo" / "template"
IGNORED = ("__pycache__", "*.pyc", "*.db", ".git")


def files(root: Path) -> dict[str, Path]:
    """Relative path -> file, skipping caches and local state."""
    out: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not any(rel.match(p) or p in rel.parts for p in IGNORED):
            out[rel.as_posix()] = path
    return out


def differences(source: Path = SOURCE, target: Path = TARGET) -> list[str]:
    """Human-readable differences between the example and the template (empty: in sync)."""
    want, have = files(source), files(target)
    out = [f"missing in template: {p}" for p in sorted(want.keys() - have.keys())]
    out += [f"not in the example: {p}" for p in sorted(have.keys() - want.keys())]
    out += [
        f"differs: {p}"
        for p in sorted(want.keys() & have.keys())
        if not filecmp.cmp(want[p], have[p], shallow=False)
    ]
    return out


def sync(source: Path = SOURCE, target: Path = TARGET) -> None:
    if target.exists():
        shutil.rmtree(target)
    for rel, path in files(source).items():
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target / rel)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report differences")
    args = parser.parse_args()
    if args.check:
        found = differences()
        for line in found:
            print(line)
        if found:
            print("run hack/sync-demo-template.py to update rollout/demo/template", file=sys.stderr)
        return 1 if found else 0
    sync()
    print(f"synced {SOURCE.relative_to(ROOT)} -> {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
