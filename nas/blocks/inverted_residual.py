"""Inverted-residual blocks: MobileNetV2's ``ibn`` and MobileDets' ``fused_ibn``.

``ibn``: 1×1 expand (omitted when hidden == in) + BN + act, depthwise k×k + BN
+ act, optional SE, 1×1 linear projection + BN. ``fused_ibn`` replaces expand +
depthwise by one regular k×k conv, which accelerators with wide vector units
run better at low channel counts. Residual add when stride 1 and in == out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nas.block_spec import BlockSpec
from nas.blocks.base import Block, Conv, expanded_channels, kernel_of, se_channels
from nas.errors import SpecError

if TYPE_CHECKING:  # torch is imported when a module is built, not when a space is parsed
    from torch import nn


class _InvertedResidual(Block):
    keys = ("kernel", "act", "expansion", "hidden", "se")

    def validate(self, spec: BlockSpec) -> None:
        super().validate(spec)
        if spec.expansion is not None and spec.hidden is not None:
            raise SpecError("give either expansion or hidden, not both", key="hidden")

    def defaults(self) -> dict:
        return {"kernel": 3, "act": "relu"}

    def canonical(self, spec: BlockSpec, *, in_channels: int) -> BlockSpec:
        from dataclasses import replace

        return replace(spec, expansion=None, hidden=expanded_channels(spec, in_channels))

    def has_residual(self, spec: BlockSpec, *, in_channels: int) -> bool:
        return spec.stride == 1 and in_channels == spec.out

    def _se(self, spec: BlockSpec, hidden: int) -> list[nn.Module]:
        from nas.blocks.layers import SqueezeExcite

        return [SqueezeExcite(channels=hidden, squeeze=se_channels(hidden, spec.se))] if spec.se else []

    def _se_convs(self, spec: BlockSpec, hidden: int) -> list[Conv]:
        if not spec.se:
            return []
        squeeze = se_channels(hidden, spec.se)
        return [
            Conv(hidden, squeeze, bias=True, norm=False, pooled=True, kind="se"),
            Conv(squeeze, hidden, bias=True, norm=False, pooled=True, kind="se"),
        ]

    def _wrap(self, body: nn.Sequential, spec: BlockSpec, in_channels: int) -> nn.Module:
        from nas.blocks.layers import Residual

        return Residual(body) if self.has_residual(spec, in_channels=in_channels) else body


class InvertedBottleneck(_InvertedResidual):
    name = "ibn"
    description = "MobileNetV2 inverted residual: 1×1 expand, depthwise k×k, linear 1×1 projection"
    extra_keys = ("groups",)  # FBNet's grouped 1×1 convs (k3_e1_g2); default 1 = MobileNetV2

    def validate(self, spec: BlockSpec) -> None:
        super().validate(spec)
        groups = spec.option("groups", 1)
        if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
            raise SpecError(f"must be a positive integer, got {groups!r}", key="groups")

    def canonical(self, spec: BlockSpec, *, in_channels: int) -> BlockSpec:
        from dataclasses import replace

        canonical = super().canonical(spec, in_channels=in_channels)
        return replace(canonical, options=tuple(item for item in spec.options if item != ("groups", 1)))

    def _groups(self, spec: BlockSpec, in_channels: int, hidden: int) -> int:
        groups = spec.option("groups", 1)
        if in_channels % groups or hidden % groups or spec.out % groups:
            raise SpecError(
                f"groups={groups} must divide the input ({in_channels}), hidden ({hidden}) and output ({spec.out}) widths", key="groups"
            )
        return groups

    def module(self, spec: BlockSpec, *, in_channels: int) -> nn.Module:
        from torch import nn

        from nas.blocks.layers import ChannelShuffle, ConvBNAct

        hidden = expanded_channels(spec, in_channels)
        groups = self._groups(spec, in_channels, hidden)
        layers: list[nn.Module] = []
        if hidden != in_channels:
            layers.append(ConvBNAct(in_channels=in_channels, out_channels=hidden, groups=groups, act=spec.act))
            if groups > 1:
                layers.append(ChannelShuffle(groups))
        layers.append(
            ConvBNAct(in_channels=hidden, out_channels=hidden, kernel=kernel_of(spec), stride=spec.stride, groups=hidden, act=spec.act)
        )
        layers += self._se(spec, hidden)
        layers.append(ConvBNAct(in_channels=hidden, out_channels=spec.out, groups=groups))
        return self._wrap(nn.Sequential(*layers), spec, in_channels)

    def convs(self, spec: BlockSpec, *, in_channels: int) -> list[Conv]:
        hidden = expanded_channels(spec, in_channels)
        groups = self._groups(spec, in_channels, hidden)
        convs = [Conv(in_channels, hidden, groups=groups)] if hidden != in_channels else []
        convs.append(Conv(hidden, hidden, kernel_of(spec), spec.stride, groups=hidden))
        return convs + self._se_convs(spec, hidden) + [Conv(hidden, spec.out, groups=groups)]


class FusedInvertedBottleneck(_InvertedResidual):
    name = "fused_ibn"
    description = "MobileDets fused inverted residual: regular k×k expand, linear 1×1 projection"

    def module(self, spec: BlockSpec, *, in_channels: int) -> nn.Module:
        from torch import nn

        from nas.blocks.layers import ConvBNAct

        hidden = expanded_channels(spec, in_channels)
        layers: list[nn.Module] = [
            ConvBNAct(in_channels=in_channels, out_channels=hidden, kernel=kernel_of(spec), stride=spec.stride, act=spec.act)
        ]
        layers += self._se(spec, hidden)
        layers.append(ConvBNAct(in_channels=hidden, out_channels=spec.out))
        return self._wrap(nn.Sequential(*layers), spec, in_channels)

    def convs(self, spec: BlockSpec, *, in_channels: int) -> list[Conv]:
        hidden = expanded_channels(spec, in_channels)
        return [Conv(in_channels, hidden, kernel_of(spec), spec.stride), *self._se_convs(spec, hidden), Conv(hidden, spec.out)]
