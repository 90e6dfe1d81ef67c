"""Conservative reasoning about label selectors without knowing the pods (PURE).

`contains(outer, inner)` is True only when every label set that `inner` matches
is also matched by `outer`; `disjoint(a, b)` only when no label set matches both.
Both answer False when unsure, which is the safe side for the apply planner.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _requirements(selector: Mapping[str, Any]) -> tuple[dict[str, set[str] | None], set[str]]:
    """key -> allowed values (None: any value, key must exist), and keys that must be absent."""
    required: dict[str, set[str] | None] = {}
    absent: set[str] = set()

    def need(key: str, values: set[str] | None) -> None:
        if key not in required or required[key] is None:
            required[key] = values
        elif values is not None:
            required[key] = (required[key] or set()) & values

    for key, value in (selector.get("matchLabels") or {}).items():
        need(str(key), {str(value)})
    for expr in selector.get("matchExpressions") or []:
        op = expr.get("operator")
        key = str(expr.get("key"))
        if op == "In":
            need(key, {str(v) for v in expr.get("values") or []})
        elif op == "Exists":
            need(key, None)
        elif op == "DoesNotExist":
            absent.add(key)
    return required, absent


def _expressions(selector: Mapping[str, Any]) -> list[tuple[str, str, frozenset[str]]]:
    out = [
        (str(k), "In", frozenset({str(v)})) for k, v in (selector.get("matchLabels") or {}).items()
    ]
    for expr in selector.get("matchExpressions") or []:
        values = frozenset(str(v) for v in expr.get("values") or [])
        out.append((str(expr.get("key")), str(expr.get("operator")), values))
    return out


def contains(outer: Mapping[str, Any], inner: Mapping[str, Any]) -> bool:
    """Every object matched by `inner` is matched by `outer` (provably)."""
    inner_required, inner_absent = _requirements(inner)
    inner_exprs = set(_expressions(inner))
    for key, op, values in _expressions(outer):
        if (key, op, values) in inner_exprs:
            continue
        present = key in inner_required
        allowed = inner_required.get(key)
        if op == "In":
            if not present or allowed is None or not allowed <= values:
                return False
        elif op == "Exists":
            if not present:
                return False
        elif op == "DoesNotExist":
            if key not in inner_absent:
                return False
        elif op == "NotIn":
            excluded = key in inner_absent or (
                present and allowed is not None and not allowed & values
            )
            if not excluded:
                return False
        else:
            return False
    return True


def disjoint(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """No object can match both `a` and `b` (provably)."""
    req_a, absent_a = _requirements(a)
    req_b, absent_b = _requirements(b)
    for key, values in req_a.items():
        if key in absent_b:
            return True
        other = req_b.get(key)
        if values is not None and other is not None and not values & other:
            return True
    return any(key in absent_a for key in req_b)
