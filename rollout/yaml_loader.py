"""The one YAML loader: bounded, strict and positioned. Used by `rollout.manifests`
(and its fast path `rollout.fast_documents`).

PyYAML's safe loaders, with four things changed, because a committed file is
untrusted input:

- Documents are composed from the parser's events without recursion (the
  libyaml composer recurses in C and crashes the process on deep nesting),
  and nesting deeper than `YamlLimits.max_depth` is refused.
- Alias expansion is bounded the way Kubernetes' own YAML decoder (go-yaml)
  bounds it: aliases may add at most 99% of a small stream's nodes, tapering
  to 10% at 4,000,000 nodes; a long string counts as one node per 64
  characters. A recursive alias (`a: &a [*a]`) is refused. So an alias bomb
  costs what its text costs, whoever reads the result afterwards.
- A key given twice in one mapping is an error naming both lines (merge keys
  `<<` may still be overridden, as YAML intends).
- A value the constructor cannot build (`2026-02-30`, `!!int abc`, an integer
  of more than 4,300 digits) is a YAML error at that value's line, not a
  ValueError from deep inside PyYAML. Only the scalar constructors that parse
  text are wrapped for this (strings, mappings and sequences cost nothing
  more); anything else is caught per document.

All of these raise `yaml.YAMLError` subclasses with a mark; `rollout.manifests`
turns them into the caller's error class with file and line.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import yaml
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = [
    "C_LOADER",
    "LimitError",
    "YamlLimits",
    "fast_loader_class",
    "load_all",
    "load_single",
]

MAX_BYTES_ENV = "ROLLOUT_YAML_MAX_BYTES"
MAX_DEPTH_ENV = "ROLLOUT_YAML_MAX_DEPTH"
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_DEPTH = 256

MERGE_TAG = "tag:yaml.org,2002:merge"
_CHARS_PER_NODE = 64

try:
    _BASE: Any = yaml.CSafeLoader
    C_LOADER = True
except AttributeError:  # PyYAML built without libyaml
    _BASE = yaml.SafeLoader
    C_LOADER = False


class LimitError(yaml.MarkedYAMLError):
    """The input is beyond a documented limit (size, nesting, alias expansion)."""


@dataclass(frozen=True)
class YamlLimits:
    """What one file (or one rendered stream) may cost.

    `max_bytes`: its size in bytes (default 64 MiB, `ROLLOUT_YAML_MAX_BYTES`).
    `max_depth`: nesting of sequences and mappings (default 256,
    `ROLLOUT_YAML_MAX_DEPTH`). Alias expansion is bounded relative to the text.
    """

    max_bytes: int = DEFAULT_MAX_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH

    @classmethod
    def from_environment(cls) -> YamlLimits:
        """The defaults, overridden by positive integers in the environment."""
        return cls(
            max_bytes=_positive_env(MAX_BYTES_ENV, DEFAULT_MAX_BYTES),
            max_depth=_positive_env(MAX_DEPTH_ENV, DEFAULT_MAX_DEPTH),
        )


def _positive_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip().replace("_", "")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 1 << 62 else default


def allowed_alias_ratio(nodes: int) -> float:
    """The share of nodes aliases may contribute (go-yaml's `allowedAliasRatio`)."""
    if nodes <= 400_000:
        return 0.99
    if nodes >= 4_000_000:
        return 0.10
    return 0.99 - 0.89 * ((nodes - 400_000) / 3_600_000)


class _Frame:
    __slots__ = ("anchor", "keys", "node", "pending", "size")

    def __init__(self, node: Node, anchor: str | None) -> None:
        self.node = node
        self.anchor = anchor
        self.size = 1
        self.pending: Node | None = None
        self.keys: dict[tuple[str, str], Node] | None = None


class _BoundedComposer:
    """Composition from events, iterative and counted; plus positioned construction."""

    limits: YamlLimits
    _total = 0
    _aliased = 0
    _biggest_alias: tuple[int, str, Any] = (0, "", None)

    def compose_bounded(self) -> Node | None:
        """The next document's node (None at the end of the stream)."""
        if self.check_event(StreamEndEvent):  # type: ignore[attr-defined]
            return None
        self.get_event()  # type: ignore[attr-defined]  # DocumentStartEvent
        anchors: dict[str, tuple[Node, int | None]] = {}
        stack: list[_Frame] = []
        root: Node | None = None
        root_size = 0
        while True:
            event = self.get_event()  # type: ignore[attr-defined]
            kind = type(event)
            size: int
            if kind is DocumentEndEvent:
                self._total += root_size
                self._check_aliases(event)
                return root
            if kind is AliasEvent:
                target = anchors.get(event.anchor)
                if target is None:
                    raise yaml.composer.ComposerError(
                        None, None, f"found undefined alias {event.anchor!r}", event.start_mark
                    )
                node, known = target
                if known is None:
                    raise LimitError(
                        None,
                        None,
                        f"alias *{event.anchor} refers to the node that contains it "
                        "(a recursive structure)",
                        event.start_mark,
                    )
                size = known
                self._aliased += size
                if size > self._biggest_alias[0]:
                    self._biggest_alias = (size, event.anchor, event.start_mark)
            elif kind is ScalarEvent:
                tag = event.tag
                if tag is None or tag == "!":
                    tag = self.resolve(ScalarNode, event.value, event.implicit)  # type: ignore[attr-defined]
                node = ScalarNode(
                    tag, event.value, event.start_mark, event.end_mark, style=event.style
                )
                size = 1 + len(event.value) // _CHARS_PER_NODE
                if event.anchor is not None:
                    anchors[event.anchor] = (node, size)
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                mapping = kind is MappingStartEvent
                cls = MappingNode if mapping else SequenceNode
                tag = event.tag
                if tag is None or tag == "!":
                    tag = self.resolve(cls, None, event.implicit)  # type: ignore[attr-defined]
                node = cls(tag, [], event.start_mark, None, flow_style=event.flow_style)
                if event.anchor is not None:
                    anchors[event.anchor] = (node, None)  # open: an alias to it recurses
                if len(stack) >= self.limits.max_depth:
                    raise LimitError(None, None, _too_deep(self.limits), event.start_mark)
                stack.append(_Frame(node, event.anchor))
                continue
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                frame = stack.pop()
                node, size = frame.node, frame.size
                node.end_mark = event.end_mark
                if frame.anchor is not None and anchors.get(frame.anchor, (None,))[0] is node:
                    anchors[frame.anchor] = (node, size)
            else:  # pragma: no cover - the parser emits nothing else inside a document
                raise yaml.composer.ComposerError(
                    None, None, f"unexpected {kind.__name__}", event.start_mark
                )
            if not stack:
                root, root_size = node, size
                continue
            self._attach(stack[-1], node, size)

    def _attach(self, frame: _Frame, node: Node, size: int) -> None:
        frame.size += size
        parent = frame.node
        if isinstance(parent, SequenceNode):
            parent.value.append(node)
            return
        if frame.pending is None:
            frame.pending = node
            if isinstance(node, ScalarNode) and node.tag != MERGE_TAG:
                key = (node.tag, node.value)
                keys = frame.keys if frame.keys is not None else {}
                frame.keys = keys
                first = keys.get(key)
                if first is not None:
                    raise yaml.constructor.ConstructorError(
                        "while reading a mapping",
                        parent.start_mark,
                        f"found duplicate key {node.value!r} "
                        f"(first at line {first.start_mark.line + 1})",
                        node.start_mark,
                    )
                keys[key] = node
            return
        parent.value.append((frame.pending, node))
        frame.pending = None

    def _check_aliases(self, event: Any) -> None:
        total, aliased = self._total, self._aliased
        if aliased > 100 and total > 1000 and aliased / total > allowed_alias_ratio(total):
            _, anchor, mark = self._biggest_alias
            raise LimitError(
                None,
                None,
                f"aliases expand to {aliased:,} of {total:,} nodes, more than "
                f"{allowed_alias_ratio(total):.0%} (an alias bomb?), the largest *{anchor}; "
                "write the values out",
                mark or event.start_mark,
            )

    def construct_document(self, node: Node) -> Any:
        try:
            return super().construct_document(node)  # type: ignore[misc]
        except yaml.YAMLError:
            raise
        except Exception as exc:  # a shape the per-value wrappers below did not foresee
            problem = f"cannot build this document: {type(exc).__name__}: {exc}"
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from exc


def _positioned(construct: Any) -> Any:
    """`construct` (a scalar constructor) with its failures as errors at the value."""

    def wrapped(loader: Any, node: ScalarNode) -> Any:
        try:
            return construct(loader, node)
        except yaml.YAMLError:
            raise
        except Exception as exc:  # any value the constructor cannot build, at its line
            problem = f"cannot read {_shown(str(node.value))} as {_tag_name(node.tag)}: {exc}"
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from exc

    return wrapped


# Only the scalar constructors that parse their text can fail; strings, mappings
# and sequences (nearly every node) keep PyYAML's own, unwrapped and fast.
_FALLIBLE = ("bool", "int", "float", "timestamp", "binary", "null")
_CONSTRUCTORS: dict[Any, Any] = {
    **yaml.SafeLoader.yaml_constructors,
    **{
        f"tag:yaml.org,2002:{name}": _positioned(
            yaml.SafeLoader.yaml_constructors[f"tag:yaml.org,2002:{name}"]
        )
        for name in _FALLIBLE
    },
}


def _shown(value: str) -> str:
    return repr(value) if len(value) <= 40 else f"{value[:20]!r}... ({len(value):,} characters)"


def _tag_name(tag: str) -> str:
    short = tag.rsplit(":", 1)[-1] if tag.startswith("tag:yaml.org,2002:") else tag
    return {
        "int": "an integer",
        "float": "a number",
        "timestamp": "a date",
        "bool": "a boolean",
    }.get(short, f"!!{short}")


class _CLoader(_BoundedComposer, _BASE):  # type: ignore[misc]
    """libyaml's parser (when built with it), our composer, the safe constructor."""

    yaml_constructors = _CONSTRUCTORS


class _PyLoader(_BoundedComposer, yaml.SafeLoader):
    """The pure-Python parser, whose syntax messages are the clearer (small files)."""

    yaml_constructors = _CONSTRUCTORS


def _too_deep(limits: YamlLimits) -> str:
    return (
        f"nested more than {limits.max_depth} levels deep (the limit; {MAX_DEPTH_ENV} sets another)"
    )


def _compose(loader: Any) -> Node | None:
    """The loader's next document node; libyaml's own depth stop worded as ours."""
    try:
        node: Node | None = loader.compose_bounded()
    except yaml.MarkedYAMLError as exc:
        # libyaml 0.2.6 (PyYAML 6.0.4 wheels) stops at 1,000 levels in its scanner,
        # before our composer sees the depth: the same limit, said the same way.
        if exc.problem != "exceeded maximum nesting depth":
            raise
        raise LimitError(None, None, _too_deep(loader.limits), exc.problem_mark) from exc
    return node


_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_SCALAR_TAGS = frozenset(f"tag:yaml.org,2002:{name}" for name in (*_FALLIBLE, "str"))


class _NotPlain(Exception):
    """A node the plain builder leaves to PyYAML's constructor (another tag)."""


class _FastLoader(_BASE):  # type: ignore[misc]
    """libyaml's composer too: only for text that cannot reach the limits (no
    anchors, nesting bounded), see `rollout.fast_documents`. A duplicate key
    raises, so that the text is read again the plain way, which names it."""

    yaml_constructors = _CONSTRUCTORS

    # A plain scalar's tag depends on its text alone: each short text resolved once.
    _plain_tags: ClassVar[dict[str, str]] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not ScalarNode:
            return _SEQ if kind is SequenceNode else _MAP
        if not implicit[0]:
            return _STR
        tag = self._plain_tags.get(value)
        if tag is None:
            tag = super().resolve(kind, value, implicit)
            if len(value) <= 64 and len(self._plain_tags) < 100_000:
                self._plain_tags[value] = tag
        return tag

    def document(self, node: Node) -> Any:
        """The document of `node`: what `construct_document` builds, built directly
        when it holds only strings, numbers, booleans, nulls, dates, lists and maps."""
        try:
            return self._built(node)
        except _NotPlain:
            return self.construct_document(node)

    def _built(self, node: Node) -> Any:
        kind = type(node)
        tag = node.tag
        if kind is ScalarNode:
            if tag == _STR:
                return node.value
            if tag in _SCALAR_TAGS:
                return self.yaml_constructors[tag](self, node)
            raise _NotPlain
        if kind is SequenceNode and tag == _SEQ:
            return [self._built(item) for item in node.value]
        if kind is MappingNode and tag == _MAP:
            mapping = {self._built(key): self._built(value) for key, value in node.value}
            if len(mapping) != len(node.value):
                keys = [(k.tag, k.value) for k, _ in node.value if isinstance(k, ScalarNode)]
                if len(set(keys)) != len(keys):
                    raise yaml.constructor.ConstructorError(
                        None, None, "found duplicate key", node.start_mark
                    )
            return mapping
        raise _NotPlain

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> Any:
        mapping = super().construct_mapping(node, deep=deep)
        if len(mapping) != len(node.value):
            keys = [(k.tag, k.value) for k, _ in node.value if isinstance(k, ScalarNode)]
            if len(set(keys)) != len(keys):
                raise yaml.constructor.ConstructorError(
                    None, None, "found duplicate key", node.start_mark
                )
        return mapping


def fast_loader_class() -> Any:
    """The loader `rollout.fast_documents` uses (libyaml's parser and composer)."""
    return _FastLoader


def load_all(
    text: str, limits: YamlLimits, *, clear_messages: bool = False
) -> Iterator[tuple[Any, int]]:
    """Yield (object, line) for each document of `text`; raises yaml.YAMLError subclasses."""
    loader: Any = (_PyLoader if clear_messages else _CLoader)(text)
    loader.limits = limits
    try:
        loader.get_event()  # StreamStartEvent
        while True:
            node = _compose(loader)
            if node is None:
                return
            yield loader.construct_document(node), node.start_mark.line + 1
    finally:
        loader.dispose()


def load_single(text: str, limits: YamlLimits) -> Any:
    """The one document of `text` (None when empty); a second document is an error."""
    loader: Any = _PyLoader(text)
    loader.limits = limits
    try:
        loader.get_event()  # StreamStartEvent
        node = _compose(loader)
        if node is None:
            return None
        second = _compose(loader)
        if second is not None:
            raise yaml.composer.ComposerError(
                None, None, "expected a single document, but found another", second.start_mark
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()
