"""The probe plan: one pod per source, built-ins added, chunks fit the termination message."""

from __future__ import annotations

from rollout.smoke.plan import CANARY_PORT, MAX_CHECKS_PER_POD, build_plan
from rollout.smoke.spec import parse_smoke_file, suite_for


def _tests(n: int, sources: int) -> list[dict[str, object]]:
    return [
        {
            "name": f"t{i}",
            "from": {"namespace": "web", "labels": {"app": f"s{i % sources}"}},
            "to": {"host": "10.0.0.1"},
            "port": 1000 + i,
            "expect": "deny",
        }
        for i in range(n)
    ]


def test_checks_of_one_source_share_a_probe_pod() -> None:
    suite = suite_for(
        parse_smoke_file({"tests": _tests(10, 3)}), "staging", cni_canary=False, dns_check=False
    )
    plan = build_plan(suite, ["web"], default_timeout=5)
    assert len(plan.probes) == 3
    assert sorted(len(p.checks) for p in plan.probes) == [3, 3, 4]
    for probe in plan.probes:
        assert [c.index for c in probe.checks] == list(range(len(probe.checks)))
        assert all(c.source == probe.source for c in probe.checks)


def test_built_ins_share_the_bare_source_of_each_namespace() -> None:
    suite = suite_for(parse_smoke_file({}), "staging")
    plan = build_plan(suite, ["web", "api"], default_timeout=5)
    assert [(p.source.namespace, dict(p.source.labels)) for p in plan.probes] == [
        ("web", {}),
        ("api", {}),
    ]
    web = plan.probes[0].checks
    assert [(c.role, c.kind, c.expect) for c in web] == [
        ("dns", "dns", "allow"),
        ("canary", "tcp", "deny"),
    ]
    assert web[1].port == CANARY_PORT and web[1].target.kind == "pods"


def test_canary_namespace_can_be_chosen() -> None:
    spec = parse_smoke_file({"canary_namespace": "api"})
    plan = build_plan(suite_for(spec, "staging", dns_check=False), ["web", "api"], 5)
    (probe,) = plan.probes
    assert probe.source.namespace == "api" and probe.checks[0].role == "canary"


def test_large_sources_are_split_into_chunks() -> None:
    suite = suite_for(
        parse_smoke_file({"tests": _tests(150, 1)}), "s", cni_canary=False, dns_check=False
    )
    plan = build_plan(suite, ["web"], default_timeout=5)
    assert [len(p.checks) for p in plan.probes] == [MAX_CHECKS_PER_POD, MAX_CHECKS_PER_POD, 22]
    assert len({p.number for p in plan.probes}) == 3


def test_per_test_timeout_overrides_the_default() -> None:
    tests = _tests(1, 1)
    tests[0]["timeout"] = "45s"
    plan = build_plan(suite_for(parse_smoke_file({"tests": tests}), "s"), ["web"], 5)
    assert plan.probes[0].checks[0].timeout == 45
    assert plan.probes[1].checks[0].timeout == 5  # the DNS built-in
