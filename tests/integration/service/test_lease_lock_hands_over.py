"""The Lease lock against a real kube-apiserver: one leader, handover, release."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from rollout.kube.client import KubeClient, RetryPolicy
from rollout.kube.lease import LeaseLock
from tests.harness.apiserver import ApiServer

pytestmark = pytest.mark.integration

DURATION = timedelta(seconds=3)


@pytest.fixture
def client(apiserver: ApiServer) -> Iterator[KubeClient]:
    retry = RetryPolicy(attempts=2, initial_delay=0.1, max_delay=0.5, deadline=1.0)
    with KubeClient.from_kubeconfig(apiserver.kubeconfig_path, retry=retry) as kube:
        yield kube


def _lock(client: KubeClient, namespace: str, identity: str) -> LeaseLock:
    return LeaseLock(
        client, namespace=namespace, name="leader", identity=identity, duration=DURATION
    )


def test_only_one_of_two_replicas_leads(client: KubeClient, kube_namespace: str) -> None:
    a, b = _lock(client, kube_namespace, "a"), _lock(client, kube_namespace, "b")
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda lock: lock.try_acquire_or_renew(), [a, b]))
    assert sorted(results) == [False, True]
    leader, follower = (a, b) if results[0] else (b, a)
    assert leader.try_acquire_or_renew() and leader.is_leader
    assert not follower.try_acquire_or_renew() and not follower.is_leader
    lease = client.request(
        "GET", f"/apis/coordination.k8s.io/v1/namespaces/{kube_namespace}/leases/leader"
    )
    assert lease["spec"]["holderIdentity"] == leader.identity


def test_release_on_stop_hands_over_at_once(client: KubeClient, kube_namespace: str) -> None:
    b = _lock(client, kube_namespace, "b")
    stopped = threading.Event()
    a_lock = LeaseLock(
        client,
        namespace=kube_namespace,
        name="leader",
        identity="a",
        duration=DURATION,
        on_stopped_leading=stopped.set,
    )
    assert a_lock.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    a_lock.release()
    assert stopped.is_set() and not a_lock.is_leader
    started = time.monotonic()
    assert b.try_acquire_or_renew()
    assert time.monotonic() - started < 1.0


def test_dead_leader_is_replaced_within_the_lease_duration(
    client: KubeClient, kube_namespace: str
) -> None:
    a, b = _lock(client, kube_namespace, "a"), _lock(client, kube_namespace, "b")
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    died = time.monotonic()  # a stops renewing, without releasing (kill -9)
    took_over = None
    while time.monotonic() - died < DURATION.total_seconds() * 2:
        if b.try_acquire_or_renew():
            took_over = time.monotonic() - died
            break
        time.sleep(DURATION.total_seconds() / 3)
    assert took_over is not None
    assert took_over <= DURATION.total_seconds() + DURATION.total_seconds() / 3 + 0.5
    # The old leader comes back: it sees b's record and a 409 or a live holder.
    assert not a.try_acquire_or_renew() or not a.is_leader


def test_leader_that_cannot_renew_steps_down_before_others_may_take_over(
    client: KubeClient, kube_namespace: str
) -> None:
    clock = [0.0]
    a = LeaseLock(
        client,
        namespace=kube_namespace,
        name="leader",
        identity="a",
        duration=DURATION,
        monotonic=lambda: clock[0],
    )
    assert a.try_acquire_or_renew() and a.is_leader
    clock[0] += DURATION.total_seconds() * 2 / 3 + 0.01  # renewals failed for 2/3 duration
    assert not a.is_leader


def test_run_loop_renews_and_releases(client: KubeClient, kube_namespace: str) -> None:
    events: list[str] = []
    a = LeaseLock(
        client,
        namespace=kube_namespace,
        name="leader",
        identity="a",
        duration=DURATION,
        on_started_leading=lambda: events.append("started"),
        on_stopped_leading=lambda: events.append("stopped"),
    )
    thread = threading.Thread(target=a.run)
    thread.start()
    time.sleep(DURATION.total_seconds() * 1.5)  # past one full duration: renewed
    assert a.is_leader
    a.stop()
    thread.join(timeout=5)
    assert events == ["started", "stopped"]
    lease = client.request(
        "GET", f"/apis/coordination.k8s.io/v1/namespaces/{kube_namespace}/leases/leader"
    )
    assert not lease["spec"].get("holderIdentity")
