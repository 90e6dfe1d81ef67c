"""The one YAML reader turns every value it cannot build, every duplicate key, every
non-UTF-8 file and every resource blow-up into an error naming file and line.

Before: `2026-02-30`, `!!int abc` and 5,000-digit integers escaped as ValueError,
`kind: List` with `items: 5` as TypeError, deep flow nesting crashed the process
in libyaml's composer, duplicate keys were silently overwritten and alias bombs
grew without bound.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rollout.errors import ConfigError, PolicyError, ValidationError
from rollout.manifests import load_manifests, load_text, yaml_document
from rollout.smoke.spec import load_smoke_file

UNBUILDABLE = {
    "impossible date": (
        "kind: Pod\nmetadata: {name: a}\nspec:\n  started: 2026-02-30\n",
        4,
        "cannot read '2026-02-30' as a date: day is out of range for month",
    ),
    "int tag on text": ("kind: Pod\nmetadata:\n  name: !!int abc\n", 3, "as an integer"),
    "float tag on text": ("kind: Pod\nmetadata: {name: !!float abc}\n", 2, "as a number"),
    "integer over 4,300 digits": (
        "kind: Pod\nmetadata: {name: a}\nspec: {n: " + "9" * 5000 + "}\n",
        3,
        "(5,000 characters) as an integer",
    ),
    "List whose items are not a list": ("kind: List\nitems: 5\n", 1, "List.items: expected a list"),
    "duplicate key": (
        "kind: Pod\nmetadata:\n  name: a\n  labels: {}\n  name: b\n",
        5,
        "found duplicate key 'name' (first at line 3)",
    ),
    "recursive alias": ("kind: Pod\nspec: &s {x: *s}\n", 2, "refers to the node that contains it"),
    "flow nesting over 1,000": ("x: " + "[" * 1200 + "]" * 1200 + "\n", 1, "nested more than 256"),
    "block nesting over 1,000": ("x:\n" + "- " * 5000 + "y\n", 2, "nested more than 256"),
}


@pytest.mark.parametrize("text,line,problem", UNBUILDABLE.values(), ids=list(UNBUILDABLE))
def test_manifest_errors_name_file_and_line(text: str, line: int, problem: str) -> None:
    with pytest.raises(ValidationError) as caught:
        load_text(text, "k8s/a.yaml", error=ValidationError)
    assert caught.value.file == "k8s/a.yaml"
    assert caught.value.line == line
    assert str(caught.value).startswith(f"k8s/a.yaml:{line}: ")
    assert problem in str(caught.value)


def test_duplicate_keys_in_settings_files_name_both_lines(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"^r.yaml:3:3: .*duplicate key 'required' \(first at line 2\)"
    ):
        yaml_document("approvals:\n  required: 2\n  required: 1\n", "r.yaml", error=ConfigError)
    smoke = tmp_path / "smoke-tests.yaml"
    smoke.write_text("tests: []\nenvironments: {}\ntests: []\n")
    with pytest.raises(ValidationError, match=r"smoke-tests.yaml:3:1: .*duplicate key 'tests'"):
        load_smoke_file(smoke)


def test_merge_keys_may_still_be_overridden() -> None:
    docs = load_text("base: &b {a: 1, b: 2}\nkind: X\nthis: {<<: *b, a: 3}\n", "m.yaml")
    assert docs[0].obj["this"] == {"a": 3, "b": 2}


def test_a_second_document_in_a_settings_file_is_named() -> None:
    with pytest.raises(ConfigError, match=r"^c.yaml:3:1: .*found another"):
        yaml_document("a: 1\n---\nb: 2\n", "c.yaml", error=ConfigError)


@pytest.mark.parametrize(
    "data,shown",
    [
        (
            b"kind: Pod\nmetadata: {name: \xff}\n",
            "a.yaml:2: not UTF-8 text (byte 0xff at offset 27)",
        ),
        (b"\xff\xfek\x00\x00\xd8", "a.yaml: not UTF-16 text"),
    ],
    ids=["latin-1 byte", "broken UTF-16"],
)
def test_files_that_are_not_text_are_named(tmp_path: Path, data: bytes, shown: str) -> None:
    (tmp_path / "a.yaml").write_bytes(data)
    with pytest.raises(PolicyError) as caught:
        load_manifests([tmp_path], root=tmp_path)
    assert str(caught.value).startswith(shown)


def test_utf16_with_a_bom_and_utf8_with_a_bom_are_read(tmp_path: Path) -> None:
    text = "kind: Namespace\nmetadata: {name: ü}\n"
    (tmp_path / "a.yaml").write_bytes(text.encode("utf-16"))
    (tmp_path / "b.yaml").write_bytes(text.encode("utf-8-sig"))
    names = [m.obj["metadata"]["name"] for m in load_manifests([tmp_path])]
    assert names == ["ü", "ü"]


def test_files_over_the_size_limit_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROLLOUT_YAML_MAX_BYTES", "100")
    (tmp_path / "big.yaml").write_text("kind: Namespace\n" + "# padding\n" * 20)
    (tmp_path / "big.json").write_text('{"kind": "Namespace"' + " " * 100 + "}")
    for name in ("big.yaml", "big.json"):
        # `kubectl get pods -A -o json` of a large cluster is JSON: the message says so.
        with pytest.raises(PolicyError, match="larger than 100 bytes, the limit for one YAML or"):
            load_manifests([tmp_path / name])


def _bomb(levels: int) -> str:
    lines = ["a: &a [" + ", ".join(["lol"] * 9) + "]"]
    for prev, name in zip("abcdefghij", "bcdefghijk", strict=False):
        if len(lines) == levels:
            break
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "kind: X\n" + "\n".join(lines) + "\n"


def test_alias_bombs_are_refused_at_the_largest_alias() -> None:
    with pytest.raises(PolicyError, match=r"^b.yaml:10: .*an alias bomb\?\), the largest \*h"):
        load_text(_bomb(9), "b.yaml")


def test_a_few_aliases_are_fine() -> None:
    docs = load_text(_bomb(3), "b.yaml")
    assert len(docs[0].obj["c"]) == 9


def test_the_alias_ratio_tapers_like_kubernetes() -> None:
    from rollout.yaml_loader import allowed_alias_ratio

    assert allowed_alias_ratio(1_000) == 0.99
    assert allowed_alias_ratio(4_000_000) == 0.10
    assert 0.10 < allowed_alias_ratio(2_000_000) < 0.99


def test_an_alias_bomb_in_matchexpressions_stays_small() -> None:
    """A 600-byte bomb in a selector once sent lint past 700 MB: measured in a subprocess."""
    policy = _bomb(9).replace("kind: X\n", "") + (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n"
        "spec:\n  podSelector:\n    matchExpressions:\n"
        "      - {key: app, operator: In, values: *i}\n"
    )
    code = (
        "import sys\n"
        "from rollout.manifests import load_text\n"
        "from rollout.errors import PolicyError\n"
        "try:\n"
        f"    load_text({policy!r}, 'p.yaml')\n"
        "except PolicyError as exc:\n"
        "    print(exc)\n"
        # VmHWM, not ru_maxrss: Linux carries a forking parent's peak (pytest's
        # own) into the child's ru_maxrss across exec.
        "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    message, peak_kib = done.stdout.strip().rsplit("\n", 1)
    assert "alias bomb" in message
    assert int(peak_kib) < 200 * 1024
