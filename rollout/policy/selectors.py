"""Kubernetes label selectors, parsed once into small matcher objects.

A selector is `matchLabels` AND every `matchExpressions` requirement. The
operators follow the API reference: `In` needs the key with a listed value,
`NotIn` matches when the key is absent or its value is not listed, `Exists`
and `DoesNotExist` test the key only and take no values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rollout.errors import PolicyError

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "In":
            return labels.get(self.key) in self.values
        if self.operator == "NotIn":
            return self.key not in labels or labels[self.key] not in self.values
        if self.operator == "Exists":
            return self.key in labels
        return self.key not in labels  # DoesNotExist


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A parsed label selector. The empty selector matches everything."""

    match_labels: tuple[tuple[str, str], ...] = ()
    expressions: tuple[Requirement, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.match_labels and not self.expressions

    def matches(self, labels: Mapping[str, str]) -> bool:
        for key, value in self.match_labels:
            if labels.get(key) != value:
                return False
        return all(req.matches(labels) for req in self.expressions)

    def keys(self) -> set[str]:
        """Every label key the selector mentions."""
        return {k for k, _ in self.match_labels} | {r.key for r in self.expressions}

    def describe(self) -> str:
        """A kubectl-like rendering: `app=web,tier in (a,b),!legacy`."""
        if self.is_empty:
            return "{}"
        parts = [f"{k}={v}" for k, v in self.match_labels]
        for req in self.expressions:
            if req.operator == "Exists":
                parts.append(req.key)
            elif req.operator == "DoesNotExist":
                parts.append(f"!{req.key}")
            else:
                op = "in" if req.operator == "In" else "notin"
                parts.append(f"{req.key} {op} ({','.join(req.values)})")
        return ",".join(parts)


def parse_selector(raw: Any, where: str) -> LabelSelector:
    """Parse a `LabelSelector` dict. Raises PolicyError naming `where` on bad input."""
    if raw is None:
        return LabelSelector()
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where}: expected a label selector mapping, got {_kind(raw)}")
    unknown = set(raw) - {"matchLabels", "matchExpressions"}
    if unknown:
        names = ", ".join(sorted(repr(k) if not isinstance(k, str) else k for k in unknown))
        raise PolicyError(f"{where}: unknown selector field(s) {names}")
    labels_raw = raw.get("matchLabels") or {}
    if not isinstance(labels_raw, Mapping):
        raise PolicyError(f"{where}.matchLabels: expected a mapping of label to value")
    match_labels = []
    for key, value in labels_raw.items():
        if not isinstance(key, str) or not isinstance(value, str | int | float | bool):
            raise PolicyError(f"{where}.matchLabels: label {key!r} needs a string value")
        match_labels.append((key, _label_value(value)))
    exprs_raw = raw.get("matchExpressions") or []
    if not isinstance(exprs_raw, list):
        raise PolicyError(f"{where}.matchExpressions: expected a list")
    expressions = [
        _parse_requirement(item, f"{where}.matchExpressions[{i}]")
        for i, item in enumerate(exprs_raw)
    ]
    return LabelSelector(tuple(sorted(match_labels)), tuple(expressions))


def _parse_requirement(raw: Any, where: str) -> Requirement:
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where}: expected a mapping with key, operator, values")
    key = raw.get("key")
    if not isinstance(key, str) or not key:
        raise PolicyError(f"{where}.key: required, a label key")
    operator = raw.get("operator")
    if operator not in OPERATORS:
        raise PolicyError(
            f"{where}.operator: {operator!r} is not a selector operator "
            f"(expected one of {', '.join(OPERATORS)})"
        )
    values_raw = raw.get("values") or []
    if not isinstance(values_raw, list):
        raise PolicyError(f"{where}.values: expected a list of strings")
    for i, value in enumerate(values_raw):
        if not isinstance(value, str | int | float | bool):
            raise PolicyError(f"{where}.values[{i}]: expected a string, got {type(value).__name__}")
    values = tuple(sorted({_label_value(v) for v in values_raw}))
    if operator in ("In", "NotIn") and not values:
        raise PolicyError(f"{where}.values: operator {operator} needs at least one value")
    if operator in ("Exists", "DoesNotExist") and values:
        raise PolicyError(f"{where}.values: operator {operator} takes no values")
    return Requirement(key, str(operator), values)


def _label_value(value: Any) -> str:
    # YAML turns `true` and `1` into bool and int; the API would reject them,
    # but the intent is plain, so compare as the string the user wrote.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _kind(value: Any) -> str:
    return type(value).__name__
