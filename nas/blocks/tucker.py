"""MobileDets Tucker block: 1×1 compress to in×in_ratio, regular k×k to out×out_ratio, linear 1×1 to out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nas.block_spec import BlockSpec
from nas.blocks.base import Block, Conv, kernel_of
from nas.channels import make_divisible
from nas.errors import SpecError

if TYPE_CHECKING:  # torch is imported when a module is built, not when a space is parsed
    from torch import nn


def tucker_channels(spec: BlockSpec, in_channels: int) -> tuple[int, int]:
    """(compressed, core output) widths; ``parse`` fills in both ratios, so None means a hand-built spec."""
    if spec.in_ratio is None or spec.out_ratio is None:
        raise SpecError("a tucker block needs in_ratio and out_ratio", key="in_ratio" if spec.in_ratio is None else "out_ratio")
    return make_divisible(in_channels * spec.in_ratio), make_divisible(spec.out * spec.out_ratio)


class TuckerBlock(Block):
    name = "tucker"
    keys = ("kernel", "act", "in_ratio", "out_ratio")
    description = "MobileDets Tucker: 1×1 compress, regular k×k, linear 1×1"

    def defaults(self) -> dict:
        return {"kernel": 3, "act": "relu", "in_ratio": 0.25, "out_ratio": 0.75}

    def has_residual(self, spec: BlockSpec, *, in_channels: int) -> bool:
        return spec.stride == 1 and in_channels == spec.out

    def module(self, spec: BlockSpec, *, in_channels: int) -> nn.Module:
        from torch import nn

        from nas.blocks.layers import ConvBNAct, Residual

        c1, c2 = tucker_channels(spec, in_channels)
        body = nn.Sequential(
            ConvBNAct(in_channels=in_channels, out_channels=c1, act=spec.act),
            ConvBNAct(in_channels=c1, out_channels=c2, kernel=kernel_of(spec), stride=spec.stride, act=spec.act),
            ConvBNAct(in_channels=c2, out_channels=spec.out),
        )
        return Residual(body) if self.has_residual(spec, in_channels=in_channels) else body

    def convs(self, spec: BlockSpec, *, in_channels: int) -> list[Conv]:
        c1, c2 = tucker_channels(spec, in_channels)
        return [Conv(in_channels, c1), Conv(c1, c2, kernel_of(spec), spec.stride), Conv(c2, spec.out)]
