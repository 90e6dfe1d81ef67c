"""What the demo does, as data: the service configuration and the two commits.

The repository is the packaged copy of `examples/policy-repo` (`template/`,
kept in sync by `hack/sync-demo-template.py`). The configuration is the
demo's own: one approver, a window that is open whenever the demo runs, and
short smoke timeouts so the whole run fits in two minutes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).with_name("template")
SUBDIRECTORY = "k8s/network-policies"
NAMESPACES = ("frontend", "backend", "database")
# Namespaces the node runs pods in (probe pods may start in any).
NODE_NAMESPACES = (*NAMESPACES, "default", "kube-system", "ingress-nginx")
APPROVER = "demo-approver"
AUTHOR = ("Dana Developer", "dana@example.com")
WEBHOOK_NAME = "demo-receiver"
WEBHOOK_SECRET_ENV = "NETPOL_DEMO_WEBHOOK_SECRET"
SMOKE_TIMEOUT = "3s"


def service_config(
    *,
    remote: Path,
    staging_kubeconfig: Path,
    production_kubeconfig: Path,
    store_path: Path,
    listen: str,
    webhook_url: str,
    staging_probe_image: str | None = None,
) -> dict[str, Any]:
    """The demo's `rollout.yaml` for the service (validated by the caller).

    `staging_probe_image`: staging runs on the real node, whose probe image is built
    locally; it has no cluster DNS, so staging skips the built-in DNS check there.
    """
    smoke = {
        "timeout": SMOKE_TIMEOUT,
        "start_timeout": "20s",
        "parallelism": 4,
        "rollback_on_failure": True,
    }
    staging_smoke = dict(smoke)
    if staging_probe_image:
        staging_smoke.update(image=staging_probe_image, dns_check=False, start_timeout="60s")
    return {
        "repository": {
            "url": f"file://{remote}",
            "branch": "main",
            "subdirectory": SUBDIRECTORY,
            "poll_interval": "1s",
        },
        "team": {"members": [{"name": APPROVER, "timezone": "UTC"}]},
        "environments": [
            {
                "name": "staging",
                "cluster": {"kubeconfig": str(staging_kubeconfig)},
                "namespaces": list(NAMESPACES),
                "overlay": "staging",
                "smoke": staging_smoke,
            },
            {
                "name": "production",
                "cluster": {"kubeconfig": str(production_kubeconfig)},
                "namespaces": list(NAMESPACES),
                "overlay": "production",
                "smoke": smoke,
                "approvals": {
                    "required": 1,
                    "members": [APPROVER],
                    "allow_self_approval": True,
                },
                # A two-hour window starting every hour: open whenever the demo runs.
                "windows": {
                    "explicit": [{"kind": "allow", "schedule": "0 * * * *", "duration": "2h"}],
                    "min_duration": "1m",
                },
            },
        ],
        "notifications": {
            "webhooks": [
                {"name": WEBHOOK_NAME, "url": webhook_url, "secret": {"env": WEBHOOK_SECRET_ENV}}
            ],
            "delivery": {"base_delay": "1s", "max_delay": "2s", "timeout": "5s"},
        },
        "store": {"url": f"sqlite:///{store_path}"},
        "server": {"listen": listen},
    }


class DemoFailed(Exception):
    """The demo could not set itself up or a step did not happen in time; says which."""


# --- the commits -------------------------------------------------------------------------

GOOD_POLICY = "allow-frontend-metrics.yaml"
_GOOD_TEXT = """\
# Added by the demo's first commit: the frontend may scrape the API's
# metrics port (9090), allowed on both ends as everywhere in this repository.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-frontend-metrics-egress
  namespace: frontend
spec:
  podSelector:
    matchLabels:
      app: frontend
  policyTypes: [Egress]
  egress:
    - to:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: backend
          podSelector:
            matchLabels:
              app: backend
      ports:
        - protocol: TCP
          port: 9090
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-frontend-metrics-ingress
  namespace: backend
spec:
  podSelector:
    matchLabels:
      app: backend
  policyTypes: [Ingress]
  ingress:
    - from:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: frontend
          podSelector:
            matchLabels:
              app: frontend
      ports:
        - protocol: TCP
          port: 9090
"""

BAD_FILE = "staging/staging-allow-cross-namespace.yaml"
_BAD_FROM = "values: [frontend, backend, database]"
_BAD_TO = "values: [frontend, backnd, database]"


@dataclass(frozen=True)
class Change:
    """One commit of the demo: what it edits, and what should become of it."""

    title: str
    message: str
    edit: Callable[[Path], None]  # applied to the policy folder of the work tree
    expect: str  # the rollout's final state
    explanation: str


def _add_policy(policies: Path) -> None:
    (policies / "base" / GOOD_POLICY).write_text(_GOOD_TEXT)
    kustomization = policies / "base" / "kustomization.yaml"
    data = yaml.safe_load(kustomization.read_text())
    data["resources"] = [*data.get("resources", []), GOOD_POLICY]
    kustomization.write_text(yaml.safe_dump(data, sort_keys=False))


def _typo(policies: Path) -> None:
    target = policies / BAD_FILE
    text = target.read_text()
    if _BAD_FROM not in text:
        raise DemoFailed(
            f"the demo template changed: {_BAD_FROM!r} is not in {BAD_FILE}; "
            "update rollout/demo/scenario.py"
        )
    target.write_text(text.replace(_BAD_FROM, _BAD_TO))


GOOD = Change(
    title="a commit that adds a policy",
    message="Allow the frontend to scrape the API's metrics port",
    edit=_add_policy,
    expect="done",
    explanation="staging, smoke tests, approval, production",
)
BAD = Change(
    title="a commit with a mistake",
    message="Staging: tidy the cross-namespace allowance",
    edit=_typo,
    expect="staging_failed",
    explanation=f"typo in {BAD_FILE} ('backnd'): staging smoke tests fail, automatic rollback",
)
CHANGES = (GOOD, BAD)
