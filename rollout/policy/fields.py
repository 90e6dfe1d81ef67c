"""Typed reads of manifest fields: a wrong type is a PolicyError naming the field.

Manifests are plain dicts parsed from YAML someone committed; any field may
hold any type. These helpers are what the model parsers read through, so a
list where a mapping belongs, a mapping where a string belongs or a
non-string key is reported as `Kind/ns/name: field.path: expected ..., got
...` rather than raised as TypeError or AttributeError from deep inside.
Also the check of `kind` and `apiVersion` (near-miss kinds, unserved versions).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from rollout.errors import PolicyError

# The kinds the engine reads, and the apiVersions the API server serves them at.
API_VERSIONS: dict[str, tuple[str, ...]] = {
    "Namespace": ("v1",),
    "Pod": ("v1",),
    "Service": ("v1",),
    "NetworkPolicy": ("networking.k8s.io/v1",),
    "Deployment": ("apps/v1",),
    "StatefulSet": ("apps/v1",),
    "DaemonSet": ("apps/v1",),
    "ReplicaSet": ("apps/v1",),
    "Job": ("batch/v1",),
    "CronJob": ("batch/v1",),
}
_NEAR_MISS = 0.8

SCALARS = (str, int, float, bool)


def type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), f"a {type(value).__name__}"
    )


def shown(value: Any) -> str:
    """A short rendering of a value for a message (never the whole of a large one)."""
    if isinstance(value, Mapping | list):
        return type_name(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def mapping(raw: Any, where: str) -> Mapping[str, Any]:
    """`raw` as a mapping; missing or null is an empty one."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where}: expected a mapping, got {type_name(raw)}")
    return raw


def sequence(raw: Any, where: str) -> list[Any]:
    """`raw` as a list; missing or null is an empty one."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise PolicyError(f"{where}: expected a list, got {type_name(raw)}")
    return raw


def optional_str(raw: Any, where: str) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise PolicyError(f"{where}: expected a string, got {type_name(raw)} {shown(raw)}")
    return raw


def str_map(raw: Any, where: str) -> dict[str, str]:
    """Labels, annotations, selectors: string keys, scalar values (as strings)."""
    out: dict[str, str] = {}
    for key, value in mapping(raw, where).items():
        if not isinstance(key, str):
            raise PolicyError(f"{where}: key {shown(key)} is not a string")
        if not isinstance(value, SCALARS):
            raise PolicyError(f"{where}.{key}: expected a string, got {type_name(value)}")
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


def check_kind(obj: Mapping[str, Any], where: str) -> str | None:
    """The object's kind when the engine reads it, None for kinds it ignores.

    A document with neither kind nor apiVersion is no Kubernetes object: None.
    Raises PolicyError for a non-string kind, a near miss of a kind the engine
    reads (`NetworkPolicyy`, `networkpolicy`) and an apiVersion the API server
    does not serve that kind at (`networking.k8s.io/v9`).
    """
    if "kind" not in obj and "apiVersion" not in obj:
        return None  # not a Kubernetes object (smoke-tests.yaml beside the manifests)
    kind = obj.get("kind")
    if not isinstance(kind, str):
        raise PolicyError(f"{where}: kind: expected a string, got {type_name(kind)} {shown(kind)}")
    if kind not in API_VERSIONS:
        close = difflib.get_close_matches(kind, list(API_VERSIONS), n=1, cutoff=_NEAR_MISS)
        close = close or [k for k in API_VERSIONS if k.lower() == kind.lower()]
        if close:
            raise PolicyError(
                f"{where}: kind {kind!r} is not a Kubernetes kind; did you mean {close[0]}?"
            )
        return None
    version = obj.get("apiVersion")
    if version is not None and version not in API_VERSIONS[kind]:
        expected = " or ".join(API_VERSIONS[kind])
        raise PolicyError(
            f"{where}: apiVersion {shown(version)} does not serve {kind} (expected {expected})"
        )
    return kind
