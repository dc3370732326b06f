"""YAML for user files: safe tags only, bounded alias expansion, bounded size.

``yaml.safe_load`` already refuses ``!!python/object`` and friends, but a "billion
laughs" file of nested ``*a`` aliases loads quickly as shared objects and then
explodes in whatever walks or formats it. The shipped spaces use aliases
(``ops: *macro_ops``), so they are allowed, but the document's size with every
alias expanded is counted (linear time, memoised per node) and refused above
``MAX_EXPANDED_NODES``. Files above ``MAX_YAML_BYTES`` are refused before parsing.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_YAML_BYTES = 64 * 2**20  # a 10,000-entry latency table is about 1 MB
MAX_EXPANDED_NODES = 2_000_000  # such a table is about 60,000 nodes


class YamlRefused(yaml.YAMLError):
    """A YAML text refused before or after parsing; ``problem`` says why (no position)."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


class _BoundedLoader(yaml.SafeLoader):
    def compose_document(self) -> Any:
        node = super().compose_document()
        if _expanded_size(node) > MAX_EXPANDED_NODES:
            raise YamlRefused(f"aliases expand to more than {MAX_EXPANDED_NODES:,} nodes (a YAML alias bomb?)")
        return node


def _expanded_size(root: yaml.Node) -> int:
    """Node count with every alias expanded, memoised per node and stopping early past the bound."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if children_done or not children:
            sizes[id(node)] = min(1 + sum(sizes[id(child)] for child in children), MAX_EXPANDED_NODES + 1)
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def load_yaml(text: str) -> Any:
    """Parse ``text`` with the safe loader, bounding alias expansion and input size; raises ``yaml.YAMLError``."""
    if len(text) > MAX_YAML_BYTES:
        raise YamlRefused(f"file larger than {MAX_YAML_BYTES // 2**20} MiB")
    # An alias needs a '*'; without one the fast C loader is safe. With one, the pure loader counts the expansion.
    loader = _BoundedLoader if "*" in text else getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)
