"""MobileNetV1 depthwise-separable block: depthwise k×k + BN + act, pointwise 1×1 + BN + act."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nas.block_spec import BlockSpec
from nas.blocks.base import Block, Conv, kernel_of

if TYPE_CHECKING:  # torch is imported when a module is built, not when a space is parsed
    from torch import nn


class SeparableBlock(Block):
    name = "separable"
    description = "MobileNetV1 depthwise k×k + pointwise 1×1, both with BN + act"

    def module(self, spec: BlockSpec, *, in_channels: int) -> nn.Module:
        from torch import nn

        from nas.blocks.layers import ConvBNAct

        return nn.Sequential(
            ConvBNAct(
                in_channels=in_channels,
                out_channels=in_channels,
                kernel=kernel_of(spec),
                stride=spec.stride,
                groups=in_channels,
                act=spec.act,
            ),
            ConvBNAct(in_channels=in_channels, out_channels=spec.out, act=spec.act),
        )

    def convs(self, spec: BlockSpec, *, in_channels: int) -> list[Conv]:
        return [Conv(in_channels, in_channels, kernel_of(spec), spec.stride, groups=in_channels), Conv(in_channels, spec.out)]
