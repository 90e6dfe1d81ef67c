"""Seeded synthetic clusters for benchmarking the policy engine.

A cluster has namespaces labelled team/env/tier; pods in workloads of 1-4
replicas labelled app/tier/role/version with named container ports, each pod
owned by its Deployment's ReplicaSet (`ownerReferences`, `pod-template-hash`,
as a cluster snapshot has them); and per
namespace a default-deny, a DNS allowance, app-tier rules (web -> api -> db by
named port), a cross-namespace rule from monitoring, and in every third
namespace an ipBlock egress to the internet. About 20 pods and 4 policies per
namespace: 10k pods give 500 namespaces and ~2.2k policies.

    python benchmarks/cluster_generator.py --pods 1000 > cluster.yaml
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
from typing import Any

Obj = dict[str, Any]

TEAMS = ["payments", "search", "catalog", "identity", "checkout", "ads", "ml", "infra"]
ENVS = ["prod", "staging", "dev"]
TIERS = [("web", "http", 8080), ("api", "grpc", 9090), ("db", "pg", 5432)]
ROLES = ["server", "worker", "cache", "batch"]
PODS_PER_NAMESPACE = 20


def generate(pods: int, *, seed: int = 7, revision: int = 0) -> list[Obj]:
    """Objects of a cluster with about `pods` pods. `revision` > 0 changes ~5% of policies."""
    rng = random.Random(seed)
    n_ns = max(2, pods // PODS_PER_NAMESPACE)
    objs: list[Obj] = [
        {"kind": "Namespace", "metadata": {"name": "kube-system"}},
        {"kind": "Namespace", "metadata": {"name": "monitoring", "labels": {"team": "infra"}}},
        _pod("monitoring", "prometheus-0", {"app": "prometheus"}, [("metrics", 9100)], 1, 1),
        _pod("kube-system", "coredns-0", {"k8s-app": "kube-dns"}, [("dns", 53, "UDP")], 1, 2),
    ]
    made = 0
    ip = 10
    for i in range(n_ns):
        ns = f"ns-{i:05d}"
        team = rng.choice(TEAMS)
        env = rng.choice(ENVS)
        objs.append(
            {
                "kind": "Namespace",
                "metadata": {
                    "name": ns,
                    "labels": {
                        "team": team,
                        "env": env,
                        "tier": rng.choice(["gold", "silver", "bronze"]),
                    },
                },
            }
        )
        target = PODS_PER_NAMESPACE if i < n_ns - 1 else max(1, pods - made)
        count = 0
        w = 0
        while count < target:
            tier, port_name, port = TIERS[w % 3]
            replicas = min(rng.randint(1, 4), target - count)
            labels = {
                "app": f"{team}-{tier}-{w}",
                "tier": tier,
                "role": rng.choice(ROLES),
                "version": f"v{rng.randint(1, 3)}",
            }
            template_hash = _template_hash(f"{ns}/{tier}-{w}")
            for r in range(replicas):
                ip += 1
                pod = _pod(
                    ns,
                    f"{tier}-{w}-{template_hash}-{r}",
                    {**labels, "pod-template-hash": template_hash},
                    [(port_name, port), ("metrics", 9100)],
                    ip // 250,
                    ip % 250,
                )
                pod["metadata"]["ownerReferences"] = [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "ReplicaSet",
                        "name": f"{tier}-{w}-{template_hash}",
                        "uid": f"{template_hash}-0000",
                        "controller": True,
                    }
                ]
                objs.append(pod)
            count += replicas
            w += 1
        made += count
        objs.extend(_policies(ns, i, revision))
    return objs


# The alphabet Kubernetes uses for generated names: no vowels, no 0/1/3, so a
# hash never reads as a number (`121719e03` is a float to YAML 1.2 readers).
_SAFE = "bcdfghjklmnpqrstvwxz2456789"


def _template_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode()).digest()
    return "".join(_SAFE[b % len(_SAFE)] for b in digest[:10])


def _pod(
    ns: str, name: str, labels: dict[str, str], ports: list[tuple[Any, ...]], b: int, c: int
) -> Obj:
    return {
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {
            "containers": [
                {
                    "name": "main",
                    "ports": [
                        {
                            "name": p[0],
                            "containerPort": p[1],
                            "protocol": p[2] if len(p) > 2 else "TCP",
                        }
                        for p in ports
                    ],
                }
            ]
        },
        "status": {"podIP": f"10.{244 + b // 250}.{b % 250}.{c}"},
    }


def _np(ns: str, name: str, spec: Obj) -> Obj:
    return {"kind": "NetworkPolicy", "metadata": {"name": name, "namespace": ns}, "spec": spec}


def _policies(ns: str, i: int, revision: int) -> list[Obj]:
    # A separate stream, so a revision changes policies and nothing else.
    changed = revision > 0 and (i == 0 or random.Random(revision * 1_000_003 + i).random() < 0.05)
    out = [
        _np(ns, "default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        _np(
            ns,
            "allow-dns",
            {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                                },
                                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                            }
                        ],
                        "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
                    }
                ],
            },
        ),
        _np(
            ns,
            "app-tiers",
            {
                "podSelector": {
                    "matchExpressions": [{"key": "tier", "operator": "In", "values": ["api", "db"]}]
                },
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [{"podSelector": {"matchLabels": {"tier": "web"}}}],
                        "ports": [{"port": "grpc"}],
                    },
                    {
                        "from": [{"podSelector": {"matchLabels": {"tier": "api"}}}],
                        "ports": [{"port": "pg"}],
                    },
                ],
            },
        ),
        _np(
            ns,
            "web-egress",
            {
                "podSelector": {"matchLabels": {"tier": "web"}},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [{"podSelector": {"matchLabels": {"tier": "api"}}}],
                        "ports": [{"port": "grpc"}],
                    }
                ],
            },
        ),
        _np(
            ns,
            "from-monitoring",
            {
                "podSelector": {},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            {
                                "namespaceSelector": {"matchLabels": {"team": "infra"}},
                                "podSelector": {"matchLabels": {"app": "prometheus"}},
                            }
                        ],
                        "ports": [{"port": "metrics"}],
                    }
                ],
            },
        ),
    ]
    if i % 3 == 0:
        out.append(
            _np(
                ns,
                "internet-egress",
                {
                    "podSelector": {"matchLabels": {"tier": "api"}},
                    "policyTypes": ["Egress"],
                    "egress": [
                        {
                            "to": [
                                {
                                    "ipBlock": {
                                        "cidr": "0.0.0.0/0",
                                        "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
                                    }
                                }
                            ],
                            "ports": [{"port": 443}],
                        }
                    ],
                },
            )
        )
    if changed:
        # The reviewed change: open web directly to db, drop monitoring's access.
        out.append(
            _np(
                ns,
                "web-to-db",
                {
                    "podSelector": {"matchLabels": {"tier": "db"}},
                    "policyTypes": ["Ingress"],
                    "ingress": [
                        {
                            "from": [{"podSelector": {"matchLabels": {"tier": "web"}}}],
                            "ports": [{"port": 5432}],
                        }
                    ],
                },
            )
        )
        out[3]["spec"]["egress"].append(
            {"to": [{"podSelector": {"matchLabels": {"tier": "db"}}}], "ports": [{"port": 5432}]}
        )
        out.pop(4)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--revision", type=int, default=0)
    args = parser.parse_args(argv)
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    yaml.dump_all(
        generate(args.pods, seed=args.seed, revision=args.revision),
        sys.stdout,
        Dumper=dumper,
        sort_keys=False,
    )


if __name__ == "__main__":
    main()
