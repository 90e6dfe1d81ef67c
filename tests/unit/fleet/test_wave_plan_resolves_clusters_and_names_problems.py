"""plan_waves: waves by name or selector, in order; every problem named by its field."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rollout.core.waves import ClusterSpec, WavePlanError, WaveSpec, plan_waves

CLUSTERS = [
    ClusterSpec("eu-1", {"region": "europe", "tier": "canary"}),
    ClusterSpec("eu-2", {"region": "europe", "tier": "main"}),
    ClusterSpec("us-1", {"region": "americas"}),
    ClusterSpec("us-2", {"region": "americas"}),
]


def test_waves_by_name_and_selector_keep_the_listed_order() -> None:
    plan = plan_waves(
        CLUSTERS,
        [
            WaveSpec("canary", clusters=("eu-1",)),
            WaveSpec("europe", selector={"region": "europe", "tier": "main"}, max_parallel=2),
            WaveSpec("americas", selector={"region": "americas"}, soak=timedelta(minutes=5)),
        ],
    )
    assert [(w.name, w.clusters) for w in plan.waves] == [
        ("canary", ("eu-1",)),
        ("europe", ("eu-2",)),
        ("americas", ("us-1", "us-2")),
    ]
    assert plan.wave_of("us-2").name == "americas"
    assert plan.clusters == ("eu-1", "eu-2", "us-1", "us-2")


def test_no_waves_is_one_wave_of_every_cluster_one_at_a_time() -> None:
    plan = plan_waves(CLUSTERS, [])
    assert len(plan.waves) == 1
    assert plan.waves[0].clusters == ("eu-1", "eu-2", "us-1", "us-2")
    assert plan.waves[0].max_parallel == 1


@pytest.mark.parametrize(
    "waves, problem",
    [
        (
            [WaveSpec("a", clusters=("eu-1", "xx-9")), WaveSpec("b", selector={})],
            "waves[0].clusters[1]: no cluster 'xx-9' in clusters (known: eu-1, eu-2, us-1, us-2)",
        ),
        (
            [WaveSpec("a", selector={"region": "asia"}), WaveSpec("b", selector={})],
            "waves[0].selector: region=asia matches no cluster",
        ),
        (
            [WaveSpec("a", clusters=("eu-1",)), WaveSpec("b", clusters=("eu-1", "eu-2"))],
            "waves[1]: cluster 'eu-1' is already in wave 'a' (waves[0]): a cluster belongs "
            "to exactly one wave",
        ),
        (
            [WaveSpec("a", clusters=("eu-1", "eu-2", "us-1"))],
            "clusters[3]: cluster 'us-2' is in no wave (name it in a wave's clusters, or "
            "give it labels a wave's selector matches)",
        ),
        (
            [WaveSpec("a", selector={}), WaveSpec("a", clusters=())],
            "waves[1].name: duplicate wave 'a'",
        ),
        (
            [WaveSpec("a", clusters=("eu-1",), selector={"region": "europe"})],
            "waves[0]: give clusters or selector, not both",
        ),
        (
            [WaveSpec("a", selector={}, max_parallel=0)],
            "waves[0].max_parallel: must be >= 1, got 0",
        ),
    ],
)
def test_each_problem_names_its_field(waves: list[WaveSpec], problem: str) -> None:
    with pytest.raises(WavePlanError) as raised:
        plan_waves(CLUSTERS, waves)
    assert problem in raised.value.problems


def test_duplicate_and_missing_clusters_are_problems() -> None:
    with pytest.raises(WavePlanError) as raised:
        plan_waves([ClusterSpec("a"), ClusterSpec("a")], [])
    assert raised.value.problems == ("clusters[1].name: duplicate cluster 'a'",)
    with pytest.raises(WavePlanError) as raised:
        plan_waves([], [])
    assert raised.value.problems == ("clusters: list at least one cluster",)
