"""Rendering keeps source file and line; static validation names object and file."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollout.core.objects import Manifest
from rollout.core.validation import check_manifests, require_valid
from rollout.errors import ConfigError, ValidationError
from rollout.render import Renderer, kustomize_command, parse_documents

NP = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {name}
  namespace: {ns}
spec:
  podSelector: {{}}
"""


def test_plain_folder_gives_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "overlay" / "sub").mkdir(parents=True)
    (tmp_path / "overlay" / "a.yaml").write_text(
        NP.format(name="a", ns="x") + "---\n" + NP.format(name="b", ns="x")
    )
    (tmp_path / "overlay" / "sub" / "c.yml").write_text(NP.format(name="c", ns="x"))
    (tmp_path / "overlay" / "notes.txt").write_text("ignored")
    found = Renderer().render(tmp_path / "overlay", root=tmp_path)
    assert [(m.key.name, m.source, m.line) for m in found] == [
        ("a", "overlay/a.yaml", 1),
        ("b", "overlay/a.yaml", 9),
        ("c", "overlay/sub/c.yml", 1),
    ]


def test_parse_error_names_file_and_line() -> None:
    with pytest.raises(ValidationError, match=r"^p.yaml:3: YAML does not parse"):
        parse_documents("a: 1\nb: 2\n  c: 3\n", "p.yaml")


def test_list_kind_is_flattened_and_empty_documents_skipped() -> None:
    text = "---\n---\nkind: List\napiVersion: v1\nitems:\n- {kind: A}\n- {kind: B}\n"
    assert [m.obj["kind"] for m in parse_documents(text, "l.yaml")] == ["A", "B"]


def test_missing_overlay_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        Renderer().render(tmp_path / "nope", root=tmp_path)


def test_kustomize_command_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLLOUT_KUSTOMIZE", "/opt/bin/kubectl")
    assert kustomize_command() == ["/opt/bin/kubectl", "kustomize"]
    monkeypatch.setenv("ROLLOUT_KUSTOMIZE", "kustomize build --enable-helm")
    assert kustomize_command() == ["kustomize", "build", "--enable-helm"]


def _np(name: str, ns: str, kind: str = "NetworkPolicy") -> dict[str, object]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": ns},
        "spec": {"podSelector": {}},
    }


def _check(
    *manifests: Manifest, kinds: tuple[str, ...] = ("NetworkPolicy", "Namespace")
) -> list[str]:
    return [str(p) for p in check_manifests(manifests, allowed_kinds=kinds, namespaces=["shop"])]


def test_every_static_problem_names_object_and_source() -> None:
    problems = _check(
        Manifest(_np("ok", "shop"), "a.yaml", 1),
        Manifest(
            {"kind": "NetworkPolicy", "metadata": {"name": "x", "namespace": "shop"}}, "b.yaml", 4
        ),
        Manifest(_np("ok", "shop"), "c.yaml", 2),
        Manifest(_np("d", "shop", kind="Deployment"), "d.yaml", 1),
        Manifest(_np("e", "kube-system"), "e.yaml", 7),
        Manifest(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": "shop"},
                "spec": {"finalizers": []},
            },
            "f.yaml",
            1,
        ),
    )
    assert problems == [
        "NetworkPolicy/shop/x (b.yaml:4): missing apiVersion",
        "NetworkPolicy/shop/ok (c.yaml:2): duplicate object (also defined in a.yaml:1)",
        "Deployment/shop/d (d.yaml:1): kind Deployment is not allowed in this environment "
        "(allowed: Namespace, NetworkPolicy); netpol-rollout only applies network policy objects",
        "NetworkPolicy/kube-system/e (e.yaml:7): namespace kube-system is not managed by this "
        "environment (managed: shop)",
        "Namespace/-/shop (f.yaml:1): Namespace objects may only set labels; remove spec",
    ]
    with pytest.raises(ValidationError, match="5 problems"):
        require_valid(
            check_manifests([], allowed_kinds=(), namespaces=()) or [object()] * 5, what="r"
        )  # type: ignore[list-item]


def test_extra_kinds_can_be_allowed_per_environment() -> None:
    anp = {
        "apiVersion": "policy.networking.k8s.io/v1alpha1",
        "kind": "AdminNetworkPolicy",
        "metadata": {"name": "a"},
        "spec": {},
    }
    assert _check(Manifest(anp, "a.yaml", 1))  # not allowed by default
    assert not _check(Manifest(anp, "a.yaml", 1), kinds=("NetworkPolicy", "AdminNetworkPolicy"))
