"""Small torch building blocks shared by the block types."""

from __future__ import annotations

import torch
from torch import nn

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "hswish": nn.Hardswish,
    "swish": nn.SiLU,
}


def activation(name: str | None) -> nn.Module:
    return nn.Identity() if name is None else _ACTIVATIONS[name](inplace=True)


class ConvBNAct(nn.Sequential):
    """k×k conv (no bias, padding k//2) + BatchNorm + optional activation."""

    def __init__(
        self, *, in_channels: int, out_channels: int, kernel: int = 1, stride: int = 1, groups: int = 1, act: str | None = None
    ) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, groups=groups, bias=False),
            nn.BatchNorm2d(out_channels),
            activation(act),
        )


class SqueezeExcite(nn.Module):
    """MobileNetV3-style squeeze-excite: pool, 1×1 reduce + ReLU, 1×1 expand + hard sigmoid gate."""

    def __init__(self, *, channels: int, squeeze: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(channels, squeeze, 1)
        self.act = nn.ReLU(inplace=True)
        self.expand = nn.Conv2d(squeeze, channels, 1)
        self.gate = nn.Hardsigmoid(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.gate(self.expand(self.act(self.reduce(self.pool(x)))))
        return x * scale


class Residual(nn.Module):
    """Adds the input to the body's output (same shape guaranteed by the caller)."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ChannelShuffle(nn.Module):
    """ShuffleNet/FBNet channel shuffle after a grouped 1×1 conv, so groups exchange information."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)
