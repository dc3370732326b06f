"""Regular k×k convolution + BN + activation (stems, and the full-convolution MobileNet)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nas.block_spec import BlockSpec
from nas.blocks.base import Block, Conv, kernel_of

if TYPE_CHECKING:  # torch is imported when a module is built, not when a space is parsed
    from torch import nn


class ConvBlock(Block):
    name = "conv"
    description = "regular k×k conv + BN + act"

    def module(self, spec: BlockSpec, *, in_channels: int) -> nn.Module:
        from nas.blocks.layers import ConvBNAct

        return ConvBNAct(in_channels=in_channels, out_channels=spec.out, kernel=kernel_of(spec), stride=spec.stride, act=spec.act)

    def convs(self, spec: BlockSpec, *, in_channels: int) -> list[Conv]:
        return [Conv(in_channels, spec.out, kernel_of(spec), spec.stride)]
