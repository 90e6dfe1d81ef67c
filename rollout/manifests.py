"""Load Kubernetes manifests (YAML or JSON) from files and folders.

Returns `(object, source_file, line)` triples for the pure engine. Uses
libyaml's C loader when PyYAML was built with it (about 6x faster on large
manifests) and says so once on the warning callback when it was not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from rollout.errors import InputError, PolicyError

SUFFIXES = (".yaml", ".yml", ".json")

try:
    _Loader: Any = yaml.CSafeLoader
    C_LOADER = True
except AttributeError:  # PyYAML built without libyaml
    _Loader = yaml.SafeLoader
    C_LOADER = False

Manifest = tuple[dict[str, Any], str, int]


def manifest_files(paths: Iterable[str | Path]) -> list[Path]:
    """Every manifest file under `paths` (files as given, folders recursively, sorted)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file()
                    and p.suffix in SUFFIXES
                    and not any(part.startswith(".") for part in p.relative_to(path).parts)
                )
            )
        elif path.is_file():
            found.append(path)
        else:
            raise InputError(f"{path}: no such file or folder")
    return found


def load_manifests(
    paths: Iterable[str | Path], *, warn: Callable[[str], None] | None = None
) -> list[Manifest]:
    """Parse every document of every manifest file under `paths`.

    Raises InputError for a missing path and PolicyError (naming file and
    line) for invalid YAML or a document that is not a mapping.
    """
    if not C_LOADER and warn is not None:
        warn("PyYAML has no libyaml C loader here; parsing large manifests will be slow")
    out: list[Manifest] = []
    for path in manifest_files(paths):
        out.extend(load_text(path.read_text(encoding="utf-8"), str(path)))
    return out


def load_text(text: str, source: str) -> list[Manifest]:
    """Parse a multi-document YAML string; `source` names it in errors."""
    out: list[Manifest] = []
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            line = node.start_mark.line + 1
            doc = loader.construct_document(node)
            if doc is None:
                continue
            if not isinstance(doc, dict):
                raise PolicyError(
                    f"{source}:{line}: expected a Kubernetes object (a mapping), "
                    f"got {type(doc).__name__}"
                )
            out.append((doc, source, line))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise PolicyError(f"{where}: invalid YAML: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise PolicyError(f"{source}: invalid YAML: {exc}") from exc
    finally:
        loader.dispose()
    return out


def split_origins(manifests: list[Manifest]) -> tuple[list[dict[str, Any]], list[str]]:
    """(objects, `file:line` origins) as `rollout.policy.load_cluster` takes them."""
    return [m[0] for m in manifests], [f"{m[1]}:{m[2]}" for m in manifests]
