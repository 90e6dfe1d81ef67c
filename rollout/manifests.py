"""Load Kubernetes manifests (YAML or JSON) from files and folders: the one YAML reader.

Every document becomes a `rollout.core.objects.Manifest(obj, source, line)`;
a `kind: *List` document is flattened into its items (which keep its line).
Both the policy commands and the renderer (`rollout.render`, for plain
folders and kustomize's output) read manifests here. Uses libyaml's C loader
when PyYAML was built with it (about 6x faster on large manifests) and says
so on the warning callback when it was not.

Errors name the file and line (also as the error's `file` and `line`). Their
class is the caller's: PolicyError (exit 3) for the policy commands, the
default; ValidationError (exit 3) when a revision is rendered. A missing path
is an InputError.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from rollout.core.objects import Manifest
from rollout.errors import InputError, PolicyError, RolloutError

__all__ = [
    "C_LOADER",
    "LOADER",
    "SUFFIXES",
    "YAML_SUFFIXES",
    "Manifest",
    "documents",
    "load_manifests",
    "load_text",
    "manifest_files",
    "relative_name",
    "split_origins",
    "yaml_document",
]

SUFFIXES = (".yaml", ".yml", ".json")
YAML_SUFFIXES = (".yaml", ".yml")
SLOW_LOADER = "PyYAML has no libyaml C loader here; parsing large manifests will be slow"

try:
    LOADER: Any = yaml.CSafeLoader
    C_LOADER = True
except AttributeError:  # PyYAML built without libyaml
    LOADER = yaml.SafeLoader
    C_LOADER = False

ErrorClass = type[RolloutError]


def manifest_files(
    paths: Iterable[str | Path], *, suffixes: tuple[str, ...] = SUFFIXES
) -> list[Path]:
    """Every manifest file under `paths`: files as given, folders recursively
    (sorted, hidden files and folders left out). Raises InputError for a missing path."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file()
                    and p.suffix in suffixes
                    and not any(part.startswith(".") for part in p.relative_to(path).parts)
                )
            )
        elif path.is_file():
            found.append(path)
        else:
            raise InputError(f"{path}: no such file or folder")
    return found


def load_manifests(
    paths: Iterable[str | Path],
    *,
    warn: Callable[[str], None] | None = None,
    root: Path | None = None,
    suffixes: tuple[str, ...] = SUFFIXES,
    error: ErrorClass = PolicyError,
) -> list[Manifest]:
    """Parse every document of every manifest file under `paths`.

    Sources are the paths as given, or relative to `root` when it is given.
    Raises InputError for a missing path and `error` (naming file and line)
    for an unreadable file, invalid YAML or a document that is not a mapping.
    """
    if not C_LOADER and warn is not None:
        warn(SLOW_LOADER)
    out: list[Manifest] = []
    for path in manifest_files(paths, suffixes=suffixes):
        source = str(path) if root is None else relative_name(path, root)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise error(f"{source}: cannot be read ({exc})", file=source) from exc
        out.extend(load_text(text, source, error=error))
    return out


def load_text(text: str, source: str, *, error: ErrorClass = PolicyError) -> list[Manifest]:
    """Parse a multi-document YAML string; `source` names it in errors."""
    return [Manifest(obj, source, line) for obj, line in documents(text, source, error=error)]


def documents(
    text: str, source: str, *, error: ErrorClass = PolicyError
) -> Iterator[tuple[dict[str, Any], int]]:
    """(object, line) for each non-empty document of `text`, Lists flattened.

    Raises `error` naming `source` and the line for invalid YAML or a document
    (or List item) that is not a mapping.
    """
    loader = LOADER(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            line = node.start_mark.line + 1
            doc = loader.construct_document(node)
            if doc is None:
                continue
            for obj in _flattened(doc):
                if not isinstance(obj, dict):
                    raise error(
                        f"{source}:{line}: expected a Kubernetes object (a mapping), "
                        f"got {type(obj).__name__}",
                        file=source,
                        line=line,
                    )
                yield obj, line
    except yaml.YAMLError as exc:
        mark = _mark(exc)
        at_line = mark.line + 1 if mark is not None else None
        where = f"{source}:{at_line}" if at_line is not None else source
        raise error(
            f"{where}: YAML does not parse: {_problem(exc)}", file=source, line=at_line
        ) from exc
    finally:
        loader.dispose()


def yaml_document(text: str, source: str, *, error: ErrorClass) -> Any:
    """The single document of a settings-like file (rollout.yaml, smoke-tests.yaml).

    Invalid YAML raises `error` as `SOURCE:LINE:COLUMN: not valid YAML: ...`.
    """
    try:
        # Small files: the pure-Python loader, whose messages are the clearer.
        return yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = _mark(exc)
        if mark is None:
            raise error(f"{source}: not valid YAML: {_problem(exc)}", file=source) from exc
        raise error(
            f"{source}:{mark.line + 1}:{mark.column + 1}: not valid YAML: {_problem(exc)}",
            file=source,
            line=mark.line + 1,
        ) from exc


def _mark(exc: yaml.YAMLError) -> Any:
    return getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)


def _problem(exc: yaml.YAMLError) -> str:
    return getattr(exc, "problem", None) or str(exc)


def _flattened(doc: Any) -> list[Any]:
    """A `kind: *List` document's items, else the document itself."""
    if isinstance(doc, dict) and str(doc.get("kind", "")).endswith("List") and "items" in doc:
        return list(doc["items"] or [])
    return [doc]


def relative_name(path: Path, root: Path) -> str:
    """`path` relative to `root` in POSIX form ("." for root), else as given."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix() or "."
    except ValueError:
        return str(path)


def split_origins(manifests: Iterable[Manifest]) -> tuple[list[dict[str, Any]], list[str]]:
    """(objects, `file:line` origins) as `rollout.policy.load_cluster` takes them."""
    objects: list[dict[str, Any]] = []
    origins: list[str] = []
    for manifest in manifests:
        objects.append(dict(manifest.obj))
        origins.append(manifest.where() if manifest.source else "")
    return objects, origins
