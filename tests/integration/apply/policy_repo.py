"""A real git policy repository in tmp_path, and a rollout.yaml pointing at the harness."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

SUBDIR = "k8s/network-policies"


def policy(
    name: str,
    namespace: str,
    *,
    app: str | None = "web",
    ports: tuple[int, ...] = (80,),
    types: tuple[str, ...] | None = None,
    ingress: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"podSelector": {"matchLabels": {"app": app}} if app else {}}
    if ingress is not None:
        spec["ingress"] = ingress
    elif ports:
        spec["ingress"] = [{"ports": [{"port": p} for p in ports]}]
    if types:
        spec["policyTypes"] = list(types)
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


class PolicyRepo:
    """`write()` files under the overlay, `commit()` -> sha; `config()` -> rollout.yaml."""

    def __init__(self, root: Path, overlay: str = "overlays/staging") -> None:
        self.root = root
        self.overlay = overlay
        self.dir = root / SUBDIR / overlay
        self.dir.mkdir(parents=True, exist_ok=True)
        self._git("init", "-q", "-b", "main")
        self._git("config", "user.email", "dev@example.com")
        self._git("config", "user.name", "Dev")

    def _git(self, *args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=self.root, check=True, capture_output=True, text=True
        ).stdout.strip()

    def write(self, filename: str, *objects: dict[str, Any] | str) -> None:
        path = self.dir / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        if objects and isinstance(objects[0], str):
            path.write_text(str(objects[0]))
        else:
            path.write_text(yaml.safe_dump_all(list(objects), sort_keys=False))

    def remove(self, filename: str) -> None:
        (self.dir / filename).unlink()

    def commit(self, message: str = "change") -> str:
        self._git("add", "-A")
        self._git("commit", "-q", "--allow-empty", "-m", message)
        return self._git("rev-parse", "HEAD")

    def config(
        self,
        kubeconfig: Path,
        namespaces: list[str],
        *,
        state_namespace: str,
        prune: bool = True,
        allowed_kinds: list[str] | None = None,
    ) -> Path:
        env: dict[str, Any] = {
            "name": "staging",
            "cluster": {"kubeconfig": str(kubeconfig), "request_timeout": "20s"},
            "namespaces": namespaces,
            "overlay": self.overlay,
            "prune": prune,
            "state_namespace": state_namespace,
        }
        if allowed_kinds is not None:
            env["allowed_kinds"] = allowed_kinds
        data = {"repository": {"path": str(self.root)}, "environments": [env]}
        path = self.root.parent / f"{self.root.name}-rollout.yaml"
        path.write_text(yaml.safe_dump(data))
        return path
