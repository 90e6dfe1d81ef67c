"""Property tests: the bitset engine agrees with the direct semantics, and invariants hold."""

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rollout.policy import analyze, explain, load_cluster

NAMESPACES = ["a", "b", "c"]
APPS = ["web", "api", "db"]
PORTS = [(80, "TCP"), (5432, "TCP"), (53, "UDP")]

selector = st.one_of(
    st.just({}),
    st.builds(lambda app: {"matchLabels": {"app": app}}, st.sampled_from(APPS)),
    st.builds(
        lambda op, apps: {"matchExpressions": [{"key": "app", "operator": op, "values": apps}]},
        st.sampled_from(["In", "NotIn"]),
        st.lists(st.sampled_from(APPS), min_size=1, max_size=2, unique=True),
    ),
    st.builds(
        lambda op: {"matchExpressions": [{"key": "tier", "operator": op}]},
        st.sampled_from(["Exists", "DoesNotExist"]),
    ),
)
ns_selector = st.one_of(
    st.just({}),
    st.builds(
        lambda n: {"matchLabels": {"kubernetes.io/metadata.name": n}}, st.sampled_from(NAMESPACES)
    ),
    st.just({"matchLabels": {"env": "prod"}}),
)
peer = st.one_of(
    st.builds(lambda s: {"podSelector": s}, selector),
    st.builds(lambda s: {"namespaceSelector": s}, ns_selector),
    st.builds(lambda s, n: {"podSelector": s, "namespaceSelector": n}, selector, ns_selector),
    st.builds(
        lambda c: {"ipBlock": {"cidr": c}},
        st.sampled_from(["10.0.0.0/24", "10.0.1.0/24", "0.0.0.0/0", "8.8.0.0/16"]),
    ),
)
port_spec = st.one_of(
    st.builds(lambda p: {"port": p}, st.sampled_from([80, 5432, "http", "pg"])),
    st.just({"port": 50, "endPort": 100}),
    st.just({"protocol": "UDP", "port": 53}),
    st.just({"protocol": "UDP"}),
)
rule = st.fixed_dictionaries(
    {},
    optional={
        "peers": st.lists(peer, max_size=3),
        "ports": st.lists(port_spec, max_size=2),
    },
)


@st.composite
def policies(draw: Any, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"podSelector": draw(selector)}
    for direction, key in (("ingress", "from"), ("egress", "to")):
        if draw(st.booleans()):
            rules = []
            for r in draw(st.lists(rule, max_size=3)):
                out = {}
                if "peers" in r:
                    out[key] = r["peers"]
                if "ports" in r:
                    out["ports"] = r["ports"]
                rules.append(out)
            spec[direction] = rules
    if draw(st.booleans()):
        spec["policyTypes"] = draw(
            st.sampled_from([["Ingress"], ["Egress"], ["Ingress", "Egress"]])
        )
    return {
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": draw(st.sampled_from(NAMESPACES))},
        "spec": spec,
    }


@st.composite
def clusters(draw: Any) -> list[dict[str, Any]]:
    objs: list[dict[str, Any]] = [
        {
            "kind": "Namespace",
            "metadata": {"name": n, "labels": {"env": "prod"} if n == "a" else {}},
        }
        for n in NAMESPACES
    ]
    for i in range(draw(st.integers(2, 6))):
        lab = {"app": draw(st.sampled_from(APPS))}
        if draw(st.booleans()):
            lab["tier"] = "x"
        port = draw(st.sampled_from([80, 5432, 8080]))
        name = draw(st.sampled_from(["http", "pg"]))
        pod: dict[str, Any] = {
            "kind": "Pod",
            "metadata": {
                "name": f"p{i}",
                "namespace": draw(st.sampled_from(NAMESPACES)),
                "labels": lab,
            },
            "spec": {
                "containers": [{"ports": [{"containerPort": port, "name": name}]}],
                "hostNetwork": draw(st.sampled_from([False, False, False, True])),
            },
        }
        if draw(st.booleans()):
            pod["status"] = {"podIP": f"10.0.{draw(st.integers(0, 1))}.{i + 1}"}
        objs.append(pod)
    objs.extend(draw(policies(f"np{j}")) for j in range(draw(st.integers(0, 4))))
    return objs


EXTERNALS = ["8.8.8.8", "10.0.0.200"]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(clusters(), st.booleans())
def test_bitset_engine_agrees_with_direct_semantics(
    objs: list[dict[str, Any]], pod_ips: bool
) -> None:
    model = load_cluster(objs, externals=EXTERNALS)
    analysis = analyze(model, pod_ip_in_ipblock=pod_ips)
    rows = {pk: analysis.class_rows(*pk) for pk in PORTS}
    for src in model.endpoints:
        for dst in model.endpoints:
            for port, proto in PORTS:
                expected = explain(
                    model, src.key, dst.key, port, proto, pod_ip_in_ipblock=pod_ips
                ).allowed
                got = analysis.allowed(
                    src.namespace, src.name, dst.namespace, dst.name, port, proto
                )
                assert got == expected, (src.key, dst.key, port, proto)
                s, d = (
                    analysis.class_of[analysis.endpoint_index(src.namespace, src.name)],
                    analysis.class_of[analysis.endpoint_index(dst.namespace, dst.name)],
                )
                if src is not dst:
                    assert bool(rows[(port, proto)][s] >> d & 1) == expected


@SETTINGS
@given(clusters())
def test_pair_count_matches_rows(objs: list[dict[str, Any]]) -> None:
    model = load_cluster(objs, externals=EXTERNALS)
    a = analyze(model)
    for port, proto in PORTS:
        count = sum(
            a.allowed(s.namespace, s.name, d.namespace, d.name, port, proto)
            for s in model.endpoints
            for d in model.endpoints
        )
        assert a.count_allowed_pairs(port, proto) == count


def _isolated(model: Any, ep: Any, direction: str) -> bool:
    e = explain(model, ep.key, ep.key, 80)
    return (e.egress if direction == "egress" else e.ingress).isolated


@SETTINGS
@given(clusters(), policies("extra"))
def test_adding_a_policy_only_removes_what_it_newly_isolates(
    objs: list[dict[str, Any]], extra: dict[str, Any]
) -> None:
    before = load_cluster(objs, externals=EXTERNALS)
    after = load_cluster([*objs, extra], externals=EXTERNALS)
    a0, a1 = analyze(before), analyze(after)
    for s in before.endpoints:
        for d in before.endpoints:
            for port, proto in PORTS:
                was = a0.allowed(s.namespace, s.name, d.namespace, d.name, port, proto)
                now = a1.allowed(s.namespace, s.name, d.namespace, d.name, port, proto)
                if was and not now:
                    newly = (
                        not _isolated(before, s, "egress") and _isolated(after, s, "egress")
                    ) or (not _isolated(before, d, "ingress") and _isolated(after, d, "ingress"))
                    assert newly, (s.key, d.key, port)


@SETTINGS
@given(
    st.lists(
        st.tuples(st.sampled_from(range(6)), st.sampled_from(range(6)), st.sampled_from(PORTS)),
        max_size=8,
    )
)
def test_deny_all_plus_generated_allows_permit_exactly_the_intended(
    intended: list[tuple[int, int, tuple[int, str]]],
) -> None:
    objs: list[dict[str, Any]] = [
        {"kind": "Namespace", "metadata": {"name": n}} for n in NAMESPACES
    ]
    for i in range(6):
        objs.append(
            {
                "kind": "Pod",
                "metadata": {
                    "name": f"p{i}",
                    "namespace": NAMESPACES[i % 3],
                    "labels": {"id": f"p{i}"},
                },
                "spec": {},
            }
        )
    for n in NAMESPACES:
        objs.append(
            {
                "kind": "NetworkPolicy",
                "metadata": {"name": "deny", "namespace": n},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
            }
        )
    for k, (s, d, (port, proto)) in enumerate(intended):
        peer_d = {
            "namespaceSelector": {
                "matchLabels": {"kubernetes.io/metadata.name": NAMESPACES[d % 3]}
            },
            "podSelector": {"matchLabels": {"id": f"p{d}"}},
        }
        peer_s = {
            "namespaceSelector": {
                "matchLabels": {"kubernetes.io/metadata.name": NAMESPACES[s % 3]}
            },
            "podSelector": {"matchLabels": {"id": f"p{s}"}},
        }
        ports = [{"port": port, "protocol": proto}]
        objs.append(
            {
                "kind": "NetworkPolicy",
                "metadata": {"name": f"out{k}", "namespace": NAMESPACES[s % 3]},
                "spec": {
                    "podSelector": {"matchLabels": {"id": f"p{s}"}},
                    "egress": [{"to": [peer_d], "ports": ports}],
                    "policyTypes": ["Egress"],
                },
            }
        )
        objs.append(
            {
                "kind": "NetworkPolicy",
                "metadata": {"name": f"in{k}", "namespace": NAMESPACES[d % 3]},
                "spec": {
                    "podSelector": {"matchLabels": {"id": f"p{d}"}},
                    "ingress": [{"from": [peer_s], "ports": ports}],
                },
            }
        )
    a = analyze(load_cluster(objs))
    want = {(s, d, pk) for s, d, pk in intended}
    for s in range(6):
        for d in range(6):
            for pk in PORTS:
                got = a.allowed(NAMESPACES[s % 3], f"p{s}", NAMESPACES[d % 3], f"p{d}", *pk)
                assert got == (s == d or (s, d, pk) in want)
