"""What the `rollout policy` commands read: manifests under paths (kustomizations
rendered), a live snapshot on request, and the options they share."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from rollout.cli.options import DEFAULT_CONFIG, load_settings
from rollout.core.objects import Manifest
from rollout.errors import ConfigError, InputError
from rollout.manifests import C_LOADER, SLOW_LOADER, ParseCache, load_manifests, split_origins
from rollout.policy import ClusterModel, load_cluster
from rollout.render import is_kustomization


def _warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


def live_objects(
    env_name: str, config_path: Path, *, include_policies: bool = False
) -> list[dict[str, Any]]:
    """The cluster of environment `env_name` (a fleet's cluster: `ENV/CLUSTER`):
    namespaces, pods, services (and policies)."""
    # The kubernetes client is imported only when --live asks for a cluster.
    from rollout.kube.client import api_client_for
    from rollout.kube.snapshot import read_snapshot

    settings = load_settings(config_path)
    try:
        connection = settings.target(env_name).connection()
    except ConfigError as exc:  # unknown environment or cluster; a fleet named bare
        raise InputError(f"--live {env_name}: {exc} ({config_path})") from None
    api = api_client_for(connection, pool_size=4)
    try:
        return read_snapshot(api, include_policies=include_policies)
    finally:
        api.close()


def load_paths(
    paths: Sequence[str], *, root: Path | None = None, cache: ParseCache | None = None
) -> list[Manifest]:
    """The manifests under `paths`, each as `rollout validate` would see it.

    A folder holding a kustomization is rendered with kustomize (its bases
    found from `root`: by default the nearest folder above it holding
    `rollout.yaml` or `.git`); anything else is read as plain YAML/JSON.
    Sources are relative to `root` when it is given. An object that two
    paths both yield (a base given beside its overlay) is kept once. With a
    `cache`, documents another call read already are not parsed again.
    """
    if not C_LOADER:
        _warn(SLOW_LOADER)
    found: list[Manifest] = []
    for raw in paths:
        path = Path(raw)
        if is_kustomization(path):
            from rollout.wiring import renderer  # the adapters, only when needed

            base = root or _repository_root(path)
            rendered = renderer().render(path.resolve(), root=base.resolve())
            shown = Path(os.path.relpath(base)) if root is None else None
            found += [_shown_from(m, shown) for m in rendered]
        else:
            found += load_manifests([path], root=root, cache=cache)
    return _without_repeats(found)


def _repository_root(path: Path) -> Path:
    for folder in path.resolve().parents:
        if (folder / "rollout.yaml").is_file() or (folder / ".git").exists():
            return folder
    return path.resolve().parent


def _shown_from(manifest: Manifest, folder: Path | None) -> Manifest:
    if folder is None or manifest.source is None:
        return manifest
    return replace(manifest, source=(folder / manifest.source).as_posix())


def _without_repeats(manifests: list[Manifest]) -> list[Manifest]:
    kept: list[Manifest] = []
    seen: dict[tuple[str, str, str], Mapping[str, Any]] = {}
    for manifest in manifests:
        obj = manifest.obj
        meta = obj.get("metadata")
        meta = meta if isinstance(meta, Mapping) else {}
        key = (str(obj.get("kind")), str(meta.get("namespace", "")), str(meta.get("name")))
        if seen.get(key) == obj:
            continue
        seen.setdefault(key, obj)
        kept.append(manifest)
    return kept


def build_model(
    paths: Sequence[str],
    *,
    live: str | None = None,
    config_path: Path = Path(DEFAULT_CONFIG),
    externals: Sequence[str] = (),
    cache: ParseCache | None = None,
) -> ClusterModel:
    """Manifests under `paths` (+ a live snapshot of namespaces, pods, services)."""
    objects, origins = split_origins(load_paths(paths, cache=cache))
    if live:
        snapshot = live_objects(live, config_path)
        objects += snapshot
        origins += [f"cluster {live}"] * len(snapshot)
    return load_cluster(objects, origins=origins, externals=externals)


live_option = click.option(
    "--live", metavar="ENV", help="Add namespaces, pods and services read from ENV's cluster."
)
external_option = click.option(
    "--external", multiple=True, metavar="CIDR", help="An external address to include."
)
pod_ip_option = click.option(
    "--pod-ip-in-ipblock/--no-pod-ip-in-ipblock",
    default=True,
    show_default=True,
    help="Match pod IPs against ipBlocks (Calico: yes; Cilium default: no).",
)
