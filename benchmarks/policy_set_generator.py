"""A realistic NetworkPolicy set: N namespaces of microservices, ~25 policies each.

Per namespace: a default-deny baseline (ingress + egress), DNS egress, same-
namespace traffic, then per service an ingress policy (from named peer
namespaces/apps, on its ports) and some egress policies (to databases in other
namespaces, or to external CIDRs). Deterministic for a given seed.

    python -m benchmarks.policy_set_generator --namespaces 20 --policies 500 -o DIR
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import Any

import yaml

APPS = [
    "web",
    "api",
    "auth",
    "cart",
    "search",
    "orders",
    "billing",
    "ledger",
    "mail",
    "queue",
    "cache",
    "db",
    "metrics",
    "images",
    "reports",
    "catalog",
    "users",
    "notify",
    "audit",
    "geo",
]


def _np(name: str, ns: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": ns, "labels": {"team": ns}},
        "spec": spec,
    }


def generate(
    namespaces: int = 20, policies: int = 500, *, prefix: str = "team", seed: int = 7
) -> list[dict[str, Any]]:
    """`policies` NetworkPolicies spread over `namespaces` namespaces named PREFIX-NN."""
    rng = random.Random(seed)
    names = [f"{prefix}-{i:02d}" for i in range(namespaces)]
    per_ns = [
        policies // namespaces + (1 if i < policies % namespaces else 0) for i in range(namespaces)
    ]
    out: list[dict[str, Any]] = []
    for ns, count in zip(names, per_ns, strict=True):
        fixed = [
            _np("default-deny", ns, {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
            _np(
                "allow-dns",
                ns,
                {
                    "podSelector": {},
                    "policyTypes": ["Egress"],
                    "egress": [
                        {
                            "to": [
                                {
                                    "namespaceSelector": {
                                        "matchLabels": {
                                            "kubernetes.io/metadata.name": "kube-system"
                                        }
                                    },
                                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                                }
                            ],
                            "ports": [
                                {"protocol": "UDP", "port": 53},
                                {"protocol": "TCP", "port": 53},
                            ],
                        }
                    ],
                },
            ),
            _np(
                "allow-same-namespace",
                ns,
                {"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]},
            ),
        ]
        out += fixed[: min(count, 3)]
        for i in range(count - len(fixed[: min(count, 3)])):
            app = APPS[i % len(APPS)]
            if i % 3 == 2:
                peer_ns = rng.choice(names)
                net = rng.randrange(256)
                spec = {
                    "podSelector": {"matchLabels": {"app": app}},
                    "policyTypes": ["Egress"],
                    "egress": [
                        {
                            "to": [
                                {
                                    "namespaceSelector": {
                                        "matchLabels": {"kubernetes.io/metadata.name": peer_ns}
                                    },
                                    "podSelector": {"matchLabels": {"app": "db"}},
                                }
                            ],
                            "ports": [{"port": 5432}],
                        },
                        {
                            "to": [
                                {
                                    "ipBlock": {
                                        "cidr": f"10.{net}.0.0/16",
                                        "except": [f"10.{net}.1.0/24"],
                                    }
                                }
                            ],
                            "ports": [{"port": 443}],
                        },
                    ],
                }
                name = f"{app}-egress-{i}"
            else:
                sources = rng.sample(names, 2)
                spec = {
                    "podSelector": {
                        "matchLabels": {"app": app, "tier": rng.choice(["front", "back"])}
                    },
                    "ingress": [
                        {
                            "from": [
                                {
                                    "namespaceSelector": {
                                        "matchLabels": {"kubernetes.io/metadata.name": s}
                                    },
                                    "podSelector": {"matchLabels": {"app": rng.choice(APPS)}},
                                }
                                for s in sources
                            ],
                            "ports": [
                                {"port": p} for p in rng.sample([80, 443, 8080, 9090, 5432], 2)
                            ],
                        }
                    ],
                }
                name = f"{app}-ingress-{i}"
            out.append(_np(name, ns, spec))
    return out


def namespace_names(namespaces: int = 20, *, prefix: str = "team") -> list[str]:
    return [f"{prefix}-{i:02d}" for i in range(namespaces)]


def write(objects: list[dict[str, Any]], directory: Path) -> None:
    """One YAML file per namespace under `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    by_ns: dict[str, list[dict[str, Any]]] = {}
    for obj in objects:
        by_ns.setdefault(obj["metadata"]["namespace"], []).append(obj)
    for ns, objs in by_ns.items():
        (directory / f"{ns}.yaml").write_text(yaml.safe_dump_all(objs, sort_keys=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespaces", type=int, default=20)
    parser.add_argument("--policies", type=int, default=500)
    parser.add_argument("--prefix", default="team")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    objects = generate(args.namespaces, args.policies, prefix=args.prefix, seed=args.seed)
    write(objects, args.output)
    print(f"wrote {len(objects)} policies in {args.namespaces} namespaces to {args.output}")


if __name__ == "__main__":
    main()
