"""`Store`: the typed facade every other part of netpol-rollout calls.

Each method is one short transaction. A state change, its audit event and
its outbox rows commit together or not at all. Methods take and return
plain records (`rollout.store.records`), never ORM objects. Database
failures surface as `rollout.errors.StoreError`; passing nonsense (a naive
datetime, an unknown channel, a payload that is not JSON) is a programming
error (ValueError). Either way the whole transaction is rolled back.

The methods live with their tables: `rollouts` (rollouts, audit log),
`deployments`, `fleets` (per-cluster progress of fleet environments),
`approvals`, `outbox` and `access` (holds, replay protection, API tokens),
all on the transaction helpers of `base.StoreBase`.
"""

from __future__ import annotations

from rollout.store import database
from rollout.store.access import Access
from rollout.store.approvals import Approvals
from rollout.store.base import Clock, IdFactory, new_rollout_id
from rollout.store.deployments import Deployments
from rollout.store.fleets import Fleets
from rollout.store.outbox import Outbox
from rollout.store.rollouts import Rollouts


class Store(Rollouts, Deployments, Fleets, Approvals, Outbox, Access):
    """The state store. Build it with `open_store(url, clock=...)`."""


def open_store(url: str, *, clock: Clock, id_factory: IdFactory = new_rollout_id) -> Store:
    """Connect, create or upgrade the schema, and return the Store.

    Raises StoreError if the URL is not sqlite/postgresql, the database is
    unreachable, or its schema is newer than this netpol-rollout knows.
    """
    parsed = database.parse_url(url)
    engine = database.create(parsed)
    try:
        database.migrate(engine)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine, clock=clock, id_factory=id_factory)
