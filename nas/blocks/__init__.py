"""Block types, looked up by name through the ``nas.blocks`` registry (plugins included)."""

from __future__ import annotations

from nas.blocks.base import Block, Conv
from nas.errors import SpecError
from nas.plugins import PluginError, Registry, is_subclass_of

BLOCKS: Registry[type[Block]] = Registry(
    kind="block type",
    group="nas.blocks",
    builtins={
        "conv": "nas.blocks.conv:ConvBlock",
        "separable": "nas.blocks.separable:SeparableBlock",
        "ibn": "nas.blocks.inverted_residual:InvertedBottleneck",
        "fused_ibn": "nas.blocks.inverted_residual:FusedInvertedBottleneck",
        "tucker": "nas.blocks.tucker:TuckerBlock",
        "skip": "nas.blocks.skip:SkipBlock",
    },
    check=is_subclass_of(Block),
    expected="a subclass of nas.blocks.Block",
)
_instances: dict[str, Block] = {}


def get_block(name: object) -> Block:
    """The block type registered as ``name``; unknown names raise a SpecError listing the known ones."""
    if not isinstance(name, str):
        raise SpecError(f"must be a block type name (known: {', '.join(BLOCKS.names())}), got {name!r}")
    if name not in _instances:
        try:
            _instances[name] = BLOCKS.get(name)()
        except PluginError as error:
            raise SpecError(str(error)) from None
    return _instances[name]


__all__ = ["BLOCKS", "Block", "Conv", "get_block"]
