"""ORM rows to the frozen records callers see (`rollout.store.records`).

Every record names its fields after the columns of its table, so one
function copies any row into its record; a test checks each pair matches.
"""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, TypeVar

from rollout.store.records import (
    ApprovalRecord,
    DeploymentRecord,
    FleetClusterRecord,
    OutboxRecord,
    RolloutRecord,
    StageEvent,
    TokenRecord,
)
from rollout.store.tables import (
    ApiTokenRow,
    ApprovalRow,
    DeploymentRow,
    FleetClusterRow,
    OutboxRow,
    RolloutRow,
    StageEventRow,
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    Record = TypeVar("Record", bound=DataclassInstance)
else:
    Record = TypeVar("Record")

# Which record each table's rows become.
RECORD_OF_ROW: dict[type[object], type[object]] = {
    RolloutRow: RolloutRecord,
    StageEventRow: StageEvent,
    ApprovalRow: ApprovalRecord,
    OutboxRow: OutboxRecord,
    DeploymentRow: DeploymentRecord,
    ApiTokenRow: TokenRecord,
    FleetClusterRow: FleetClusterRecord,
}


def to_record(record: type[Record], row: object) -> Record:
    """The record of type `record` holding `row`'s column values."""
    return record(**{f.name: getattr(row, f.name) for f in fields(record)})


def rollout_record(row: RolloutRow) -> RolloutRecord:
    return to_record(RolloutRecord, row)


def event_record(row: StageEventRow) -> StageEvent:
    return to_record(StageEvent, row)


def approval_record(row: ApprovalRow) -> ApprovalRecord:
    return to_record(ApprovalRecord, row)


def outbox_record(row: OutboxRow) -> OutboxRecord:
    return to_record(OutboxRecord, row)


def deployment_record(row: DeploymentRow) -> DeploymentRecord:
    return to_record(DeploymentRecord, row)


def token_record(row: ApiTokenRow) -> TokenRecord:
    return to_record(TokenRecord, row)


def fleet_cluster_record(row: FleetClusterRow) -> FleetClusterRecord:
    return to_record(FleetClusterRecord, row)
