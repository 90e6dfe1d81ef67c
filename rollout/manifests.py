"""Load Kubernetes manifests (YAML or JSON) from files and folders: the one YAML reader.

Every document becomes a `rollout.core.objects.Manifest(obj, source, line)`;
a `kind: *List` document is flattened into its items (which keep its line).
Both the policy commands and the renderer (`rollout.render`, for plain
folders and kustomize's output) read manifests here, and `rollout.yaml` and
`smoke-tests.yaml` are read with `yaml_document`. Parsing is
`rollout.yaml_loader`'s: libyaml's C parser when PyYAML was built with it
(about 6x faster on large manifests; the warning callback says when it was
not), bounded in size, nesting and alias expansion (`YamlLimits`), with
duplicate keys and unbuildable values refused at their line. JSON, and YAML
that cannot reach those limits, take `rollout.fast_documents`' fast paths to
the same objects and errors.

Files are UTF-8 (a BOM is allowed) or UTF-16 with a BOM; anything else is
an error naming the file and the first bad byte.

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
from rollout.fast_documents import ParseCache, fast_documents
from rollout.yaml_loader import C_LOADER, YamlLimits, load_all, load_single

__all__ = [
    "C_LOADER",
    "SUFFIXES",
    "YAML_SUFFIXES",
    "Manifest",
    "ParseCache",
    "documents",
    "load_manifests",
    "load_text",
    "manifest_files",
    "read_text_file",
    "relative_name",
    "split_origins",
    "yaml_document",
]

SUFFIXES = (".yaml", ".yml", ".json")
YAML_SUFFIXES = (".yaml", ".yml")
SLOW_LOADER = "PyYAML has no libyaml C loader here; parsing large manifests will be slow"

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
    cache: ParseCache | None = None,
) -> list[Manifest]:
    """Parse every document of every manifest file under `paths`.

    With a `cache`, documents read before (by another call) are not parsed again.

    Sources are the paths as given, or relative to `root` when it is given.
    Raises InputError for a missing path and `error` (naming file and line)
    for an unreadable file, invalid YAML or a document that is not a mapping.
    """
    if not C_LOADER and warn is not None:
        warn(SLOW_LOADER)
    out: list[Manifest] = []
    for path in manifest_files(paths, suffixes=suffixes):
        source = str(path) if root is None else relative_name(path, root)
        text = read_text_file(path, source, error=error)
        out.extend(load_text(text, source, error=error, cache=cache))
    return out


def read_text_file(path: Path, source: str, *, error: ErrorClass) -> str:
    """The text of a YAML/JSON file, within `YamlLimits.max_bytes`.

    Raises `error` naming `source` when the file cannot be read, is too large
    or is not UTF-8 (a BOM allowed) or UTF-16 with a BOM. FileNotFoundError
    is left to the caller (a missing file may mean "none").
    """
    limit = YamlLimits.from_environment().max_bytes
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise error(f"{source}: cannot be read: {exc.strerror or exc}", file=source) from exc
    if len(data) > limit:
        raise error(_too_large(source, limit), file=source)
    return decode_text(data, source, error=error)


def decode_text(data: bytes, source: str, *, error: ErrorClass) -> str:
    """`data` as text: UTF-8 (BOM optional) or UTF-16 with a BOM, else `error`."""
    encoding = "utf-16" if data.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1 if encoding != "utf-16" else None
        raise error(
            f"{source}{f':{line}' if line else ''}: not {encoding.upper().replace('-SIG', '')} "
            f"text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save the file as UTF-8",
            file=source,
            line=line,
        ) from None


def _too_large(source: str, limit: int) -> str:
    return (
        f"{source}: larger than {limit:,} bytes, the limit for one YAML or JSON file "
        f"(ROLLOUT_YAML_MAX_BYTES sets another)"
    )


def load_text(
    text: str, source: str, *, error: ErrorClass = PolicyError, cache: ParseCache | None = None
) -> list[Manifest]:
    """Parse a multi-document YAML (or JSON) string; `source` names it in errors."""
    return [
        Manifest(obj, source, line)
        for obj, line in documents(text, source, error=error, cache=cache)
    ]


def documents(
    text: str, source: str, *, error: ErrorClass = PolicyError, cache: ParseCache | None = None
) -> Iterator[tuple[dict[str, Any], int]]:
    """(object, line) for each non-empty document of `text`, Lists flattened.

    JSON, and YAML that cannot reach the loader's limits, take a fast path
    (`rollout.fast_documents`) to the same objects; with a `cache`, text seen
    before (a whole JSON file, one YAML document) is not parsed again.

    Raises `error` naming `source` and the line for invalid YAML (duplicate
    keys, values that cannot be built, limits exceeded) or a document (or List
    item) that is not a mapping.
    """
    limits = YamlLimits.from_environment()
    if len(text) > limits.max_bytes:
        raise error(_too_large(source, limits.max_bytes), file=source)
    try:
        parsed = fast_documents(text, limits, cache)
        for doc, line in load_all(text, limits) if parsed is None else parsed:
            if doc is None:
                continue
            for obj in _flattened(doc, source, line, error):
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


def yaml_document(text: str, source: str, *, error: ErrorClass) -> Any:
    """The single document of a settings-like file (rollout.yaml, smoke-tests.yaml).

    Invalid YAML (duplicate keys, unbuildable values and exceeded limits
    included) raises `error` as `SOURCE:LINE:COLUMN: not valid YAML: ...`.
    """
    limits = YamlLimits.from_environment()
    if len(text) > limits.max_bytes:
        raise error(_too_large(source, limits.max_bytes), file=source)
    try:
        # Small files: the pure-Python parser, whose messages are the clearer.
        return load_single(text, limits)
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


def _flattened(doc: Any, source: str, line: int, error: ErrorClass) -> list[Any]:
    """A `kind: *List` document's items, else the document itself."""
    kind = doc.get("kind") if isinstance(doc, dict) else None
    if isinstance(kind, str) and kind.endswith("List") and "items" in doc:
        items = doc["items"]
        if items is None:
            return []
        if not isinstance(items, list):
            raise error(
                f"{source}:{line}: {kind}.items: expected a list of objects, "
                f"got {type(items).__name__}",
                file=source,
                line=line,
            )
        return items
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
