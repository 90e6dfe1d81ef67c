"""Hypothesis strategies that mutate the example files, structurally and byte by byte.

`mutated_file(files)` draws one example file and returns (path, new bytes):
- structural: the file's YAML documents with one node replaced by a value of
  the wrong type, a key removed, renamed to a near miss or to a non-string,
  or a value of the wrong shape added; dumped back to YAML;
- hostile text: a scalar value replaced by YAML the constructor cannot build
  or should refuse (impossible dates, `!!int abc`, huge integers, recursive
  aliases, deep flow nesting, duplicate keys, overflowing durations);
- bytes: flips, insertions, deletions, truncation, other encodings.

`EXAMPLES` is the number of inputs a test draws: bounded for CI, larger with
`NETPOL_FUZZ_EXAMPLES` for a long local run. `TRIED` counts every input run.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("NETPOL_FUZZ_EXAMPLES", "60"))
TRIED: dict[str, int] = {}

HOSTILE_TEXT = (
    "2026-02-30",
    "2026-13-01T25:61:00Z",
    "!!int abc",
    "!!float abc",
    "!!timestamp nope",
    "!!binary '%%%'",
    "!!python/object/apply:os.system ['true']",
    "9" * 5000,
    "-" + "9" * 4400,
    "1e999999",
    ".nan",
    "&loop [*loop]",
    "&m {k: *m}",
    "*undefined",
    "[" * 1500 + "]" * 1500,
    "{" * 300 + "}" * 300,
    "{a: 1, a: 2}",
    "99999999999999999999999h",
    "999999999999d",
    "-5s",
    "[a, b]",
    "{x: [1, 2]}",
    "~",
    "''",
    "'\u0000'",
    "yes",
    "0x7fffffffffffffffffff",
    "https://hooks.slack.com.evil.example/",
    "NetworkPolicyy",
    "networking.k8s.io/v9",
)

_wrong_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.one_of(st.integers(), st.text(max_size=4), st.none()), max_size=3),
    st.dictionaries(
        st.one_of(st.text(max_size=5), st.integers()),
        st.one_of(st.integers(), st.text(max_size=4), st.lists(st.integers(), max_size=2)),
        max_size=3,
    ),
    st.sampled_from(["NetworkPolicyy", "networking.k8s.io/v9", "List", "", "x" * 300]),
)


def _containers(value: Any, out: list[Any]) -> list[Any]:
    if isinstance(value, dict | list):
        out.append(value)
        children = value.values() if isinstance(value, dict) else value
        for child in children:
            _containers(child, out)
    return out


@st.composite
def _structural(draw: st.DrawFn, text: str) -> bytes:
    docs = list(yaml.safe_load_all(text))
    containers = _containers(docs, [])
    target = containers[draw(st.integers(0, len(containers) - 1))]
    op = draw(st.sampled_from(["replace", "delete", "rename", "add", "wrap"]))
    if isinstance(target, list):
        if not target or op == "add":
            target.append(draw(_wrong_values))
        else:
            i = draw(st.integers(0, len(target) - 1))
            if op == "delete":
                del target[i]
            elif op == "wrap":
                target[i] = [target[i]]
            else:
                target[i] = draw(_wrong_values)
    else:
        keys = list(target)
        if not keys or op == "add":
            key = draw(st.one_of(st.text(max_size=8), st.integers(), st.booleans()))
            target[key] = draw(_wrong_values)
        else:
            key = keys[draw(st.integers(0, len(keys) - 1))]
            if op == "delete":
                del target[key]
            elif op == "rename":
                new = draw(st.one_of(st.just(f"{key}y"), st.integers(), st.just(str(key)[:-1])))
                target[new] = target.pop(key)
            elif op == "wrap":
                target[key] = [target[key]]
            else:
                target[key] = draw(_wrong_values)
    return yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True).encode()


_SCALAR = re.compile(r"(?m)^(\s*(?:- )?[\w.\-/]+:[ ]+)(\S[^\n#]*)$")


@st.composite
def _hostile(draw: st.DrawFn, text: str) -> bytes:
    slots = list(_SCALAR.finditer(text))
    snippet = draw(st.sampled_from(HOSTILE_TEXT))
    if not slots:
        return (text + f"\nextra: {snippet}\n").encode()
    slot = slots[draw(st.integers(0, len(slots) - 1))]
    return (text[: slot.start(2)] + snippet + text[slot.end(2) :]).encode()


@st.composite
def _bytes(draw: st.DrawFn, data: bytes) -> bytes:
    op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "utf16", "latin1"]))
    if op == "utf16":
        return data.decode().encode(draw(st.sampled_from(["utf-16", "utf-16-le", "utf-32"])))
    if op == "latin1":
        return data.decode().replace("a", "\u00e4", 3).encode("latin-1", errors="replace")
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(len(out) - 1, 0)))
        if op == "flip" and out:
            out[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and out:
            del out[at : at + draw(st.integers(1, 16))]
        elif op == "truncate":
            del out[at:]
    return bytes(out)


@st.composite
def mutated_file(draw: st.DrawFn, files: list[Path]) -> tuple[Path, bytes]:
    """One example file and its mutated content."""
    path = draw(st.sampled_from(files))
    data = path.read_bytes()
    kind = draw(st.sampled_from(["structural", "structural", "hostile", "hostile", "bytes"]))
    if kind == "structural":
        return path, draw(_structural(data.decode()))
    if kind == "hostile":
        return path, draw(_hostile(data.decode()))
    return path, draw(_bytes(data))


def count(command: str) -> None:
    TRIED[command] = TRIED.get(command, 0) + 1
    report = os.environ.get("NETPOL_FUZZ_REPORT")
    if report:
        Path(report).write_text("".join(f"{k} {v}\n" for k, v in sorted(TRIED.items())))
