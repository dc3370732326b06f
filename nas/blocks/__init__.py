"""Block types, looked up by name through the ``nas.blocks`` registry (plugins included)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nas.block_spec import BlockSpec
from nas.blocks.base import Block, Conv
from nas.errors import SpecError
from nas.limits import MAX_CHANNELS, check_int, check_ratio
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


def block_from_dict(data: Any, *, key: str) -> BlockSpec:
    """Parse and validate one block mapping; ``key`` names it in errors."""
    if not isinstance(data, Mapping):
        raise SpecError(f"must be a mapping like {{type: ibn, out: 24, ...}}, got {data!r}", key=key)
    if "type" not in data:
        raise SpecError("missing required key", key=f"{key}.type")
    try:
        block_type = get_block(data["type"])
    except SpecError as error:
        raise error.located(key_prefix=f"{key}.type") from None
    try:
        spec = block_type.parse(data)
        block_type.validate(spec)
        _check_block_limits(spec)
    except SpecError as error:
        raise error.located(key_prefix=key) from None
    return spec


def _check_block_limits(spec: BlockSpec) -> None:
    """The size limits every block shares (nas/limits.py), so a hostile file cannot ask for huge layers."""
    check_int(spec.out, key="out", maximum=MAX_CHANNELS)
    if spec.hidden is not None:
        check_int(spec.hidden, key="hidden", maximum=MAX_CHANNELS)
    for key in ("expansion", "in_ratio", "out_ratio", "se"):
        check_ratio(getattr(spec, key), key=key)
    if spec.expansion is not None:
        check_int(round(spec.out * spec.expansion), key="expansion (out × expansion channels)", maximum=MAX_CHANNELS * 4)


__all__ = ["BLOCKS", "Block", "Conv", "block_from_dict", "get_block"]
