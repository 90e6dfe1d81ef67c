"""Fast paths to exactly the documents `rollout.manifests.documents` would read.

The plain path (`rollout.yaml_loader.load_all`) composes every YAML event in
Python to bound nesting and alias expansion and to refuse duplicate keys at
their line; at 10,000 pods that is most of a command's time. Two inputs cannot
reach any of those limits, and are read faster here:

- **JSON** (a manifest, or what `kubectl get -o json` writes: a `List`), read
  by `json.loads`, about ten times faster. Numbers YAML 1.1 reads as text
  (`1e3`) stay text, so the objects are the ones the YAML reader builds.
- **YAML without anchors, merge keys or directives** whose documents cannot
  nest deeper than the limit (a bound from indentation and brackets), composed
  by libyaml in C and built by the same constructors, about twice as fast.

Anything else, and any input the fast path does not read cleanly (a duplicate
key, a syntax error, a value that cannot be built), returns None: the caller
reads it on the plain path, which gives the very same objects and errors.

`ParseCache` keeps documents by the hash of their text, so the two sides of
`rollout policy diff` parse what they share once.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
import re
from typing import Any

import yaml

from rollout.yaml_loader import C_LOADER, YamlLimits, fast_loader_class

__all__ = ["ParseCache", "fast_documents"]

Documents = list[tuple[Any, int]]  # (document, line of its root node)

_DOC_START = re.compile(r"^---(?=[ \t\n]|$)", re.M)
# Conservative: anything that might be an anchor.
_ANCHOR = re.compile(r"(?:^|[ \t\[{,:])&", re.M)
_LEADING = re.compile(r"^[ ?:-]+", re.M)
_YAML_FLOAT = yaml.resolver.Resolver.yaml_implicit_resolvers["."][0]
_BREAKS = ("\x85", "\u2028", "\u2029", "\ufeff")  # line breaks for YAML, not for str.count


class ParseCache:
    """Parsed documents by the hash of their text (whole JSON files, YAML documents).

    Objects are shared by every reader of the same text: readers must not
    change them (the policy engine does not).
    """

    def __init__(self) -> None:
        self._documents: dict[bytes, Documents] = {}
        self.hits = 0

    def get(self, text: str) -> tuple[bytes, Documents | None]:
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).digest()
        found = self._documents.get(key)
        if found is not None:
            self.hits += 1
        return key, found

    def put(self, key: bytes, documents: Documents) -> None:
        self._documents[key] = documents


def fast_documents(
    text: str, limits: YamlLimits, cache: ParseCache | None = None
) -> Documents | None:
    """(document, line) for every document of `text`, or None: read it the plain way."""
    start = len(text) - len(text.lstrip(" \t\n"))
    if start < len(text) and text[start] in "{[":
        return _cached_json(text, start, limits, cache)
    return _yaml_documents(text, limits, cache)


def _cached_json(
    text: str, start: int, limits: YamlLimits, cache: ParseCache | None
) -> Documents | None:
    key, found = cache.get(text) if cache is not None else (b"", None)
    if found is not None:
        return found
    if "\r" in text[:start]:
        return None
    try:
        doc = json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_float=_yaml_number,
            parse_constant=_refuse,
        )
    except (ValueError, RecursionError):
        return None  # not JSON, a duplicate key, NaN: the YAML reader says what it is
    if not _within_depth(doc, limits.max_depth):
        return None
    documents = [(doc, text.count("\n", 0, start) + 1)]
    if cache is not None:
        cache.put(key, documents)
    return documents


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping = dict(pairs)
    if len(mapping) != len(pairs):
        raise ValueError("duplicate key")
    return mapping


def _yaml_number(text: str) -> Any:
    # YAML 1.1 wants a dot and a signed exponent: `1e3` and `1.5e3` are text there.
    return float(text) if _YAML_FLOAT[1].match(text) else text


def _refuse(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def _within_depth(doc: Any, limit: int) -> bool:
    level: list[Any] = [doc] if isinstance(doc, (dict, list)) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return False
        inner: list[Any] = []
        for node in level:
            for value in node.values() if type(node) is dict else node:
                if type(value) is dict or type(value) is list:
                    inner.append(value)
        level = inner
    return True


def _yaml_documents(text: str, limits: YamlLimits, cache: ParseCache | None) -> Documents | None:
    if not C_LOADER or any(c in text for c in _BREAKS) or not _plain_stream(text):
        return None
    if "\r" in text and text.count("\r") != text.count("\r\n"):
        return None  # a lone CR breaks lines for YAML, not for the line counts below
    # Block nesting grows the indentation of a line's content at least every
    # second level; flow nesting needs one bracket per level.
    block = 2 * (max(map(len, _LEADING.findall(text)), default=0) + 1)
    # Documents: from one `---` line to the next (the text before the first too).
    bounds = [m.start() for m in _DOC_START.finditer(text)]
    if not bounds or bounds[0] != 0:
        bounds.insert(0, 0)
    bounds.append(len(text))
    chunks = [text[a:b] for a, b in itertools.pairwise(bounds)]
    if any(block + c.count("[") + c.count("{") > limits.max_depth for c in chunks):
        return None
    first_lines = list(itertools.accumulate((c.count("\n") for c in chunks), initial=0))
    if cache is None:
        return _parsed(text, 0)
    keys, known = zip(*(cache.get(c) for c in chunks), strict=True)
    found: list[Documents] = [[] for _ in chunks]
    i = 0
    while i < len(chunks):  # runs of chunks not seen before, each parsed as one stream
        j = i
        while j < len(chunks) and known[j] is None:
            j += 1
        if j > i:
            parsed = _parsed(text[bounds[i] : bounds[j]], first_lines[i])
            if parsed is None:
                return None
            for doc, line in parsed:
                at = bisect.bisect_right(first_lines, line - 1, i, j) - 1
                found[at].append((doc, line - first_lines[at]))
            for at in range(i, j):
                cache.put(keys[at], found[at])
        if j < len(chunks):
            found[j] = known[j] or []
        i = j + 1
    return [(doc, first_lines[at] + line) for at, docs in enumerate(found) for doc, line in docs]


def _plain_stream(text: str) -> bool:
    """No anchors, merge keys, directives or document end markers (`...`)."""
    if "<<" in text or text.startswith(("%", "...")) or "\n%" in text or "\n..." in text:
        return False
    return "&" not in text or _ANCHOR.search(text) is None


def _parsed(text: str, first_line: int) -> Documents | None:
    """(document, line) of a stream within the limits, or None if it does not read cleanly."""
    loader: Any = fast_loader_class()(text)
    parsed: Documents = []
    try:
        while loader.check_node():
            node = loader.get_node()
            parsed.append((loader.document(node), first_line + node.start_mark.line + 1))
    except Exception:  # any failure: the plain path reads it again and says why
        return None
    finally:
        loader.dispose()
    return parsed
