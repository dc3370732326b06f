"""Skip: identity when the shape is kept, else a 1×1 (strided) conv + BN projection."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nas.block_spec import BlockSpec
from nas.blocks.base import Block, Conv

if TYPE_CHECKING:  # torch is imported when a module is built, not when a space is parsed
    from torch import nn


class SkipBlock(Block):
    name = "skip"
    keys = ()
    description = "identity, or 1×1 conv + BN when stride or width change"

    def module(self, spec: BlockSpec, *, in_channels: int) -> nn.Module:
        from torch import nn

        from nas.blocks.layers import ConvBNAct

        if spec.stride == 1 and in_channels == spec.out:
            return nn.Identity()
        return ConvBNAct(in_channels=in_channels, out_channels=spec.out, stride=spec.stride)

    def convs(self, spec: BlockSpec, *, in_channels: int) -> list[Conv]:
        if spec.stride == 1 and in_channels == spec.out:
            return []
        return [Conv(in_channels, spec.out, 1, spec.stride)]
