"""The static pre-check: the policy engine judges the same plan before any pod exists."""

from __future__ import annotations

from typing import Any

from rollout.smoke.plan import build_plan
from rollout.smoke.precheck import static_precheck
from rollout.smoke.spec import parse_smoke_file, suite_for


def _ns(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
    }


def _pod(ns: str, name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"namespace": ns, "name": name, "labels": labels},
        "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 8080}]}]},
    }


def _policy(ns: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"namespace": ns, "name": name},
        "spec": spec,
    }


DNS_EGRESS = {
    "to": [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ],
    "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
}

DESIRED = [
    *(
        _policy(
            ns,
            "default-deny",
            {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "egress": [DNS_EGRESS]},
        )
        for ns in ("web", "api")
    ),
    _policy(
        "web",
        "web-egress",
        {
            "podSelector": {"matchLabels": {"app": "web"}},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [
                        {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "api"}}}
                    ],
                    "ports": [{"port": 8080}],
                }
            ],
        },
    ),
    _policy(
        "api",
        "api-ingress",
        {
            "podSelector": {"matchLabels": {"app": "api"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "web"}}}
                    ],
                    "ports": [{"port": 8080}],
                }
            ],
        },
    ),
]
LIVE = [
    _ns("web"),
    _ns("api"),
    _ns("kube-system"),
    _pod("api", "api-0", {"app": "api"}),
    _policy("api", "stale-allow-all", {"podSelector": {}, "ingress": [{}]}),  # replaced by DESIRED
]
WEB = {"namespace": "web", "labels": {"app": "web"}}


def _run(tests: list[dict[str, Any]], **suite: Any) -> dict[str, Any]:
    spec = parse_smoke_file({"tests": tests})
    plan = build_plan(suite_for(spec, "staging", **suite), ["web", "api"], 5)
    return {r.name: r for r in static_precheck(plan, DESIRED, LIVE)}


def test_expectations_that_can_hold_pass_with_built_ins() -> None:
    results = _run(
        [
            {
                "name": "allowed",
                "from": WEB,
                "to": {"namespace": "api", "labels": {"app": "api"}},
                "port": 8080,
                "expect": "allow",
            },
            {
                "name": "denied",
                "from": WEB,
                "to": {"namespace": "api", "labels": {"app": "api"}},
                "port": 9090,
                "expect": "deny",
            },
            {
                "name": "egress-out",
                "from": WEB,
                "to": {"host": "203.0.113.9"},
                "port": 443,
                "expect": "deny",
            },
        ]
    )
    assert {n: r.outcome for n, r in results.items()} == {
        "allowed": "passed",
        "denied": "passed",
        "egress-out": "passed",
        "dns web": "passed",
        "dns api": "passed",
        "cni-canary web": "passed",
    }
    assert all(r.kind == "precheck" for r in results.values())


def test_expectation_that_cannot_hold_fails_with_the_explanation() -> None:
    results = _run(
        [
            {
                "name": "wrong",
                "from": WEB,
                "to": {"namespace": "api", "labels": {"app": "api"}},
                "port": 9090,
                "expect": "allow",
            },
        ],
        dns_check=False,
        cni_canary=False,
    )
    wrong = results["wrong"]
    assert wrong.outcome == "failed"
    assert wrong.message.startswith("cannot hold: expected allow, the revision's policies deny it")
    assert "web/smoke-probe-0 -> api/api-0 on 9090/TCP: DENIED" in wrong.message


def test_destination_without_pods_is_modelled_as_the_listener() -> None:
    results = _run(
        [
            {
                "name": "to-db",
                "from": WEB,
                "to": {"namespace": "api", "labels": {"app": "db"}},
                "port": 5432,
                "expect": "deny",
            },
        ],
        dns_check=False,
        cni_canary=False,
    )
    assert results["to-db"].outcome == "passed"


def test_what_cannot_be_judged_statically_is_skipped() -> None:
    results = _run(
        [
            {
                "name": "by-name",
                "from": WEB,
                "to": {"host": "example.com"},
                "port": 443,
                "expect": "deny",
            },
            {
                "name": "no-svc",
                "from": WEB,
                "to": {"service": "api/missing"},
                "port": 80,
                "expect": "allow",
            },
        ],
        dns_check=False,
        cni_canary=False,
    )
    assert results["by-name"].outcome == "skipped"
    assert "service api/missing does not exist" in results["no-svc"].message
