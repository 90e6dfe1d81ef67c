"""JSON input and limit-free YAML take fast paths (`rollout.fast_documents`); they
read exactly the objects, lines and errors of the plain bounded YAML reader.

"Plain" below is the same call with the fast path switched off.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from rollout import manifests
from rollout.errors import PolicyError
from rollout.fast_documents import ParseCache, fast_documents
from rollout.manifests import load_text
from rollout.yaml_loader import YamlLimits

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
from cluster_generator import generate

CLUSTER = generate(200)


def plain(text: str, monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, str | None, int]]:
    with monkeypatch.context() as patch:
        patch.setattr(manifests, "fast_documents", lambda *_: None)
        return [(m.obj, m.source, m.line) for m in load_text(text, "m.yaml")]


def fast(text: str, cache: ParseCache | None = None) -> list[tuple[Any, str | None, int]]:
    assert fast_documents(text, YamlLimits()) is not None, "fast path not taken"
    return [(m.obj, m.source, m.line) for m in load_text(text, "m.yaml", cache=cache)]


def plain_error(text: str, monkeypatch: pytest.MonkeyPatch) -> str:
    with monkeypatch.context() as patch:
        patch.setattr(manifests, "fast_documents", lambda *_: None)
        with pytest.raises(PolicyError) as caught:
            load_text(text, "m.yaml")
    return str(caught.value)


def as_yaml(objects: list[Any]) -> str:
    return yaml.dump_all(objects, Dumper=yaml.CSafeDumper)


KUBECTL_LIST = json.dumps({"apiVersion": "v1", "kind": "List", "items": CLUSTER}, indent=4)


@pytest.mark.parametrize(
    "text",
    [
        as_yaml(CLUSTER),
        "# generated\n\n" + as_yaml(CLUSTER).replace("\n", "\r\n"),
        KUBECTL_LIST,
        json.dumps(CLUSTER[0]),
        "\n\n  " + json.dumps({"kind": "PodList", "items": CLUSTER[:20]}, separators=(",", ":")),
    ],
    ids=["yaml", "crlf-yaml-after-comments", "kubectl-list", "one-json-object", "compact-json"],
)
def test_generated_clusters_read_alike(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert fast(text) == plain(text, monkeypatch)


ODD_BUT_VALID = {
    "yaml 1.1 scalars": "kind: X\nv: [1e3, 1.5e3, 1.5e+3, 0x1F, 017, yes, off, ~, 2026-01-02]\n",
    "empty and comment-only documents": "---\n# nothing\n---\n---\nkind: X\n...\n",
    "quoted anchors and merges": "kind: X\nurl: 'a?b=1&c=2'\nm: \"<<\"\n",
    "block scalar with a marker inside": "kind: X\ns: |\n  ---\n  text\n---\nkind: Y\n",
    "explicit keys and compact lists": "kind: X\n? - a\n  - b\n: - - c\n    - d\n",
    "json numbers yaml reads as text": '{"kind": "X", "a": 1e3, "b": 1.5e3, "c": 1.5E+3, "d": -0}',
    "json escapes": '{"kind": "X", "s": "\\u00e9\\u2028\\/\\t\\u003c"}',
    "json NaN, text to YAML": '{"kind": "X", "v": NaN}',
    "json top-level list": '[{"kind": "X"}]',
    "flow nesting at the limit": "x: " + "[" * 200 + "]" * 200 + "\n",
}


@pytest.mark.parametrize("text", ODD_BUT_VALID.values(), ids=list(ODD_BUT_VALID))
def test_odd_valid_input_reads_alike(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Some of these leave the fast path; either way the objects are the plain ones.
    try:
        plain_read = plain(text, monkeypatch)
    except PolicyError as exc:  # a top-level list: both refuse it alike
        assert str(exc) == plain_error(text, monkeypatch)
        with pytest.raises(PolicyError, match=str(exc)[:20]):
            load_text(text, "m.yaml")
        return
    assert [(m.obj, m.source, m.line) for m in load_text(text, "m.yaml")] == plain_read


def test_json_the_yaml_reader_refused_now_reads() -> None:
    # Surrogate pairs (Python's json.dumps escapes an emoji so) and characters
    # YAML 1.1 does not allow in a stream (DEL): valid JSON, read as JSON.
    text = json.dumps({"kind": "X", "s": "\U0001f600"})
    assert "\\ud83d\\ude00" in text
    assert fast(text)[0][0] == {"kind": "X", "s": "\U0001f600"}
    assert fast('{"kind": "X", "s": "\x7f"}')[0][0] == {"kind": "X", "s": "\x7f"}


BAD = {
    "json duplicate key": '{"kind": "X", "metadata": {"name": "a", "name": "b"}}',
    "json nested deeper than the limit": '{"kind": "X", "v": ' + "[" * 300 + "]" * 300 + "}",
    "json syntax": '{"kind": "X",\n "v": [1, 2\n}',
    "yaml duplicate key": "kind: X\nmetadata:\n  name: a\n  name: b\n",
    "yaml duplicate key in a later document": "kind: X\n---\nkind: Y\nkind: Z\n",
    "yaml syntax": "kind: X\n---\nkind: [Y\n",
    "yaml impossible date": "kind: X\n---\nkind: Y\nwhen: 2026-02-30\n",
    "yaml not a mapping": "kind: X\n---\n- a\n",
    "yaml undefined alias": "kind: X\nv: *nothing\n",
}


@pytest.mark.parametrize("text", BAD.values(), ids=list(BAD))
def test_bad_input_fails_with_the_plain_message(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = plain_error(text, monkeypatch)
    with pytest.raises(PolicyError) as caught:
        load_text(text, "m.yaml")
    assert str(caught.value) == expected


def test_a_cache_parses_shared_documents_once_and_reads_alike(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old, new = as_yaml(generate(200)), as_yaml(generate(200, revision=1))
    cache = ParseCache()
    assert fast(old, cache) == plain(old, monkeypatch)
    assert cache.hits == 0
    assert fast(new, cache) == plain(new, monkeypatch)
    documents = new.count("\n---") + 1
    assert documents * 0.8 < cache.hits < documents  # most shared, not all
    assert fast(KUBECTL_LIST, cache) == fast(KUBECTL_LIST, cache)  # a whole JSON file
    assert fast(KUBECTL_LIST, cache) == plain(KUBECTL_LIST, monkeypatch)


# What YAML 1.1 can carry in a string (JSON carries more: see above).
texts = st.text(
    st.characters(
        blacklist_categories=("Cs", "Cc", "Cn"), blacklist_characters="\x85\u2028\u2029\ufeff"
    )
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.dictionaries(texts, json_values, max_size=5), max_size=4))
def test_any_objects_read_alike_as_yaml_and_as_json(documents: list[dict[str, Any]]) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        for text in (
            as_yaml(documents),
            json.dumps({"kind": "List", "items": documents}, ensure_ascii=False),
        ):
            read = [(m.obj, m.source, m.line) for m in load_text(text, "m.yaml")]
            assert read == plain(text, monkeypatch)
