"""Render an environment's overlay into manifests that know their source file.

A folder with a `kustomization.yaml` is built with kustomize: the binary named by
`ROLLOUT_KUSTOMIZE` (a command line, e.g. `kustomize build` or
`/opt/kubectl kustomize`), else `kustomize build` from PATH, else
`kubectl kustomize`. Source files come from kustomize itself: the overlay is
built with `buildMetadata: [originAnnotations]` added to a temporary copy of its
kustomization, and each object's `config.kubernetes.io/origin` path (relative
to the overlay) is mapped back to a path relative to the repository root; the
annotation is then removed. kustomize names no line, so the line is that of the
document in the source file with the same kind and name (a patch may have
changed other fields, never those). Objects without an origin (generated) have
neither.

A folder without a kustomization is read as plain YAML (`*.yaml`, `*.yml`,
recursively, in name order, hidden files left out), with file and line for
each document and for parse errors. All YAML is parsed by `rollout.manifests`.

Raises ValidationError (bad YAML, kustomize refusing the overlay) and
ConfigError (no kustomize binary, overlay folder missing).
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from rollout.core.objects import Manifest
from rollout.errors import ConfigError, ValidationError
from rollout.manifests import (
    YAML_SUFFIXES,
    documents,
    load_manifests,
    load_text,
    read_text_file,
    yaml_document,
)
from rollout.manifests import relative_name as _rel

log = logging.getLogger(__name__)

KUSTOMIZE_ENV = "ROLLOUT_KUSTOMIZE"
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
ORIGIN_ANNOTATION = "config.kubernetes.io/origin"


def kustomize_command(explicit: str | None = None) -> list[str]:
    """The command that builds a kustomization (followed by the folder)."""
    configured = explicit or os.environ.get(KUSTOMIZE_ENV)
    if configured:
        argv = shlex.split(configured)
        if len(argv) == 1:
            argv += ["kustomize"] if Path(argv[0]).name.startswith("kubectl") else ["build"]
        return argv
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    raise ConfigError(
        f"no kustomize found: install kustomize or kubectl, or set {KUSTOMIZE_ENV} "
        "to the command (e.g. 'kustomize build')"
    )


def is_kustomization(directory: Path) -> bool:
    """Whether `directory` is built with kustomize (it holds a kustomization file)."""
    return directory.is_dir() and any((directory / n).is_file() for n in KUSTOMIZATION_FILES)


class Renderer:
    """Turns an overlay folder into manifests. `kustomize`: command line override."""

    def __init__(self, kustomize: str | None = None, *, timeout: float = 120.0) -> None:
        self._kustomize = kustomize
        self._timeout = timeout

    def render(self, directory: Path, *, root: Path | None = None) -> list[Manifest]:
        """The objects of `directory`; source paths are relative to `root` (default: it)."""
        root = root or directory
        if not directory.is_dir():
            raise ConfigError(f"overlay folder {_rel(directory, root)} does not exist")
        if is_kustomization(directory):
            return self._build(directory, root)
        return read_yaml_tree(directory, root=root)

    def _build(self, directory: Path, root: Path) -> list[Manifest]:
        argv = kustomize_command(self._kustomize)
        with tempfile.TemporaryDirectory(prefix="netpol-render-") as tmp:
            # A copy of the whole tree: overlays reference bases with ../ paths.
            copy_root = Path(tmp) / "tree"
            shutil.copytree(root, copy_root, symlinks=True, ignore=shutil.ignore_patterns(".git"))
            overlay = copy_root / directory.relative_to(root)
            _add_origin_annotations(overlay, _rel(directory, root))
            try:
                done = subprocess.run(
                    [*argv, str(overlay)],
                    capture_output=True,
                    text=True,
                    timeout=self._timeout,
                    check=False,
                )
            except FileNotFoundError as exc:
                raise ConfigError(f"kustomize command {argv[0]!r} not found") from exc
            except subprocess.TimeoutExpired as exc:
                raise ValidationError(
                    f"kustomize build of {_rel(directory, root)} timed out"
                ) from exc
            if done.returncode != 0:
                message = done.stderr.strip().replace(str(copy_root) + "/", "")
                raise ValidationError(
                    f"kustomize cannot build {_rel(directory, root)}", details=[message]
                )
            where = f"kustomize build of {_rel(directory, root)}"
            manifests = []
            lines = _SourceLines(root)
            for obj, _line in documents(done.stdout, where, error=ValidationError):
                source = _pop_origin(obj, overlay, copy_root)
                line = lines.find(source, obj) if source else None
                manifests.append(Manifest(obj, source, line))
            return manifests


class _SourceLines:
    """The line of an object's document in its source file (files read once)."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._files: dict[str, list[tuple[tuple[str, str, str], int]]] = {}

    def find(self, source: str, obj: dict[str, Any]) -> int | None:
        if source not in self._files:
            self._files[source] = self._read(source)
        kind, namespace, name = _identity(obj)
        candidates = [
            (ns, line) for (k, ns, n), line in self._files[source] if (k, n) == (kind, name)
        ]
        for ns, line in candidates:
            if ns == namespace:
                return line
        # kustomize's `namespace:` may have set the namespace the file leaves out.
        return candidates[0][1] if candidates else None

    def _read(self, source: str) -> list[tuple[tuple[str, str, str], int]]:
        path = self._root / source
        try:
            text = path.read_text(encoding="utf-8")
            return [
                (_identity(obj), line)
                for obj, line in documents(text, source, error=ValidationError)
            ]
        except (OSError, UnicodeDecodeError, ValidationError):
            return []  # kustomize read it; a line is a courtesy, not a requirement


def _identity(obj: dict[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    return str(obj.get("kind", "")), str(meta.get("namespace", "")), str(meta.get("name", ""))


def read_yaml_tree(directory: Path, *, root: Path) -> list[Manifest]:
    """Every document of every YAML file under `directory`, with file (relative
    to `root`) and line. Raises ValidationError naming file and line."""
    return load_manifests(
        [directory], root=root, suffixes=YAML_SUFFIXES, error=ValidationError, warn=log.warning
    )


def parse_documents(text: str, source: str) -> list[Manifest]:
    """The non-empty documents of one YAML text (for tests and the CLI)."""
    return load_text(text, source, error=ValidationError)


def _add_origin_annotations(overlay: Path, shown: str) -> None:
    for name in KUSTOMIZATION_FILES:
        path = overlay / name
        if path.is_file():
            break
    source = f"{shown}/{name}"
    text = read_text_file(path, source, error=ValidationError)
    data = yaml_document(text, source, error=ValidationError) or {}
    raw = data.get("buildMetadata") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(raw, list | None):
        return  # kustomize will report it
    metadata: list[str] = list(raw or [])
    if "originAnnotations" not in metadata:
        metadata.append("originAnnotations")
    data["buildMetadata"] = metadata
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _pop_origin(obj: Any, overlay: Path, copy_root: Path) -> str | None:
    if not isinstance(obj, dict):
        return None
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return None
    annotations = meta.get("annotations")
    if not isinstance(annotations, dict) or ORIGIN_ANNOTATION not in annotations:
        return None
    raw = annotations.pop(ORIGIN_ANNOTATION)
    if not annotations:
        del meta["annotations"]
    try:
        origin = yaml_document(str(raw), ORIGIN_ANNOTATION, error=ValidationError)
    except ValidationError:
        return None
    path = origin.get("path") if isinstance(origin, dict) else None
    if not path:
        return None
    resolved = Path(os.path.normpath(overlay / str(path)))
    try:
        return resolved.relative_to(copy_root).as_posix()
    except ValueError:
        return str(path)


def source_files(manifests: Sequence[Manifest]) -> list[str]:
    return sorted({m.source for m in manifests if m.source})
