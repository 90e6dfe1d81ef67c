"""The vocabulary of a plan: actions, phases, changes, writes (PURE)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any

from rollout.core.objects import DesiredObject, ObjectKey

JSON = dict[str, Any]


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    UNCHANGED = "unchanged"


class Phase(IntEnum):
    NAMESPACES = 0
    WIDEN = 1
    ISOLATE = 2
    BASELINE = 3
    NARROW = 4
    DELETE_BASELINE = 5
    DELETE = 6


@dataclass(frozen=True)
class FieldChange:
    path: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Change:
    """One object's fate. `live` is None for creates, `desired` None for deletes."""

    key: ObjectKey
    action: Action
    desired: DesiredObject | None = None
    live: Mapping[str, Any] | None = None
    diff: tuple[FieldChange, ...] = ()
    drift: bool = False
    source: str | None = None


@dataclass(frozen=True)
class Write:
    """One request: apply `body`, or delete `change.key` when `body` is None."""

    change: Change
    body: JSON | None
    interim: bool = False

    @property
    def is_delete(self) -> bool:
        return self.body is None


@dataclass(frozen=True)
class Step:
    phase: Phase
    writes: tuple[Write, ...]


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    steps: tuple[Step, ...]
    warnings: tuple[str, ...] = ()
    pruning: bool = True

    def of(self, action: Action) -> list[Change]:
        return [c for c in self.changes if c.action is action]

    @property
    def counts(self) -> dict[str, int]:
        return {a.value: len(self.of(a)) for a in Action}

    @property
    def writes(self) -> list[Write]:
        return [w for step in self.steps for w in step.writes]

    @property
    def drifted(self) -> list[Change]:
        return [c for c in self.changes if c.drift]

    @property
    def is_noop(self) -> bool:
        return not self.writes
