"""The Store is composed of parts; callers see one class with the same methods."""

from __future__ import annotations

import rollout.store
from rollout.store import Store

PUBLIC_METHODS = {
    "add_approval",
    "approvals_for",
    "approve_towards_quorum",
    "close",
    "count_outbox",
    "count_rollouts_by_state",
    "create_rollout",
    "create_token",
    "deployments",
    "due_outbox",
    "enqueue",
    "events",
    "external_ref_for",
    "fleet_clusters",
    "forget_requests_before",
    "get_rollout",
    "hold_of",
    "last_deployment",
    "last_verified_sha",
    "latest_fleet_rollout",
    "list_rollouts",
    "mark_delivered",
    "mark_failed",
    "member_for_token_hash",
    "move_fleet_cluster",
    "outbox_items",
    "record_deployment",
    "record_event",
    "revoke_token",
    "seen_request",
    "set_artifacts",
    "set_blocked",
    "set_deployment_status",
    "set_hold",
    "start_fleet",
    "tokens",
    "transition",
}


def test_store_has_exactly_its_public_methods() -> None:
    assert {n for n in dir(Store) if not n.startswith("_")} == PUBLIC_METHODS


def test_package_exports_are_pinned() -> None:
    assert sorted(rollout.store.__all__) == [
        "ARTIFACTS",
        "ApprovalRecord",
        "Clock",
        "DeploymentRecord",
        "FleetClusterRecord",
        "HoldRecord",
        "IdFactory",
        "OutboxItem",
        "OutboxRecord",
        "PlannedCluster",
        "RolloutRecord",
        "StageEvent",
        "Store",
        "TokenRecord",
        "new_rollout_id",
        "open_store",
        "scrub_error",
    ]
