"""GhostNet bottleneck (Han et al., CVPR 2020): half the features from a 1×1 conv, half from a cheap depthwise op."""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from nas.arch import BlockSpec
from nas.blocks import Block, Conv
from nas.blocks.layers import ConvBNAct, Residual
from nas.channels import make_divisible


class GhostModule(nn.Module):
    def __init__(self, *, in_channels: int, out_channels: int, act: str | None) -> None:
        super().__init__()
        primary = out_channels // 2
        self.primary = ConvBNAct(in_channels=in_channels, out_channels=primary, act=act)
        self.cheap = ConvBNAct(in_channels=primary, out_channels=out_channels - primary, kernel=3, groups=primary, act=act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.primary(x)
        return torch.cat([y, self.cheap(y)], dim=1)


def _hidden(spec: BlockSpec, in_channels: int) -> int:
    return make_divisible(in_channels * (spec.expansion or 2.0), 16)  # two equal halves of a multiple of 8


class GhostBottleneck(Block):
    name = "ghost"
    keys = ("kernel", "act", "expansion")
    description = "GhostNet bottleneck: ghost expand, (strided depthwise k×k), ghost project; residual when shape is kept"

    def module(self, spec: BlockSpec, *, in_channels: int) -> nn.Module:
        hidden = _hidden(spec, in_channels)
        layers: list[nn.Module] = [GhostModule(in_channels=in_channels, out_channels=hidden, act=spec.act)]
        if spec.stride > 1:
            layers.append(ConvBNAct(in_channels=hidden, out_channels=hidden, kernel=spec.kernel, stride=spec.stride, groups=hidden))
        layers.append(GhostModule(in_channels=hidden, out_channels=spec.out, act=None))
        body = nn.Sequential(*layers)
        return Residual(body) if self.has_residual(spec, in_channels=in_channels) else body

    def convs(self, spec: BlockSpec, *, in_channels: int) -> list[Conv]:
        hidden = _hidden(spec, in_channels)

        def ghost(cin: int, cout: int) -> list[Conv]:
            primary = cout // 2
            return [Conv(cin, primary), Conv(primary, cout - primary, 3, groups=primary)]

        convs = ghost(in_channels, hidden)
        if spec.stride > 1:
            convs.append(Conv(hidden, hidden, spec.kernel, spec.stride, groups=hidden))
        return convs + ghost(hidden, spec.out)

    def has_residual(self, spec: BlockSpec, *, in_channels: int) -> bool:
        return spec.stride == 1 and in_channels == spec.out

    def canonical(self, spec: BlockSpec, *, in_channels: int) -> BlockSpec:
        return replace(spec, expansion=None, hidden=_hidden(spec, in_channels))
