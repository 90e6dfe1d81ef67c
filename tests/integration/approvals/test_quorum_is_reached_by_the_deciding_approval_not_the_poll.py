"""The approval that completes quorum moves the rollout, named after its approver.

The engine polls rollouts awaiting approval too (it catches quorum reached
by a configuration change). Here its poll runs at the worst moment: right
after the deciding approval's write, as it did in 1 of 7 quorum transitions
under load. The real server, the real engine and one SQLite store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from rollout.approvals_service import ApprovalsService
from rollout.config.schema import Settings
from rollout.engine import RolloutEngine
from rollout.server.app import create_app
from rollout.store import Store
from rollout.wiring import ApprovalGate
from tests.integration.approvals.conftest import Clock, Service
from tests.support.serving import serving

pytestmark = pytest.mark.integration


class PollRightAfterEachApproval:
    """The store, with the engine's poll squeezed in after every approval write."""

    def __init__(self, store: Store, poll: Callable[[], None]) -> None:
        self._store = store
        self._poll = poll

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._store, name)
        if name not in ("add_approval", "approve_towards_quorum"):
            return found

        def then_poll(*args: Any, **kwargs: Any) -> Any:
            result = found(*args, **kwargs)
            self._poll()
            return result

        return then_poll


@pytest.fixture
def racing_url(settings: Settings, store: Store, clock: Clock) -> Iterator[str]:
    gate = ApprovalGate(ApprovalsService(settings, store, clock))
    unused: Any = None
    engine = RolloutEngine(
        settings, store, unused, unused, gate, unused, lambda _r, _e, _d: [], clock
    )
    polled: list[Any] = []

    def poll() -> None:
        for rollout in engine.active():
            if rollout.state == "awaiting_approval":  # the step under test, no further
                polled.append(engine.advance(rollout.id))

    racing: Any = PollRightAfterEachApproval(store, poll)
    app = create_app(settings, racing, clock=clock)
    with serving(app) as url:
        yield url
    assert polled, "the engine never polled"


def approve(url: str, token: str, rollout_id: str) -> dict[str, Any]:
    response = requests.post(
        f"{url}/api/v1/rollouts/{rollout_id}/approve",
        headers={"Authorization": f"Bearer {token}", "X-Rollout-Client": "cli"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_the_approval_reaching_quorum_makes_the_transition(
    service: Service, racing_url: str
) -> None:
    rollout = service.rollout()
    first = approve(racing_url, service.token("alice"), rollout.id)
    assert first["quorum_reached"] is False
    deciding = approve(racing_url, service.token("bob"), rollout.id)
    assert deciding["quorum_reached"] is True, deciding["message"]
    assert deciding["message"] == (
        f"{rollout.id} is approved for production (approved by alice, bob)"
    )
    assert service.state(rollout.id) == "approved"
    moves = [
        e
        for e in service.store.events(rollout_id=rollout.id, kinds=["state.changed"])
        if e.details.get("to") == "approved"
    ]
    assert [(e.actor, e.channel) for e in moves] == [("bob", "cli")]
    assert moves[0].details["approvers"] == ["alice", "bob"]
