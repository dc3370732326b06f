"""ArchSpec → plain ``nn.Module`` (stem, blocks, head, pool, classifier)."""

from __future__ import annotations

import torch
from torch import nn

from nas.arch import ArchSpec
from nas.blocks import get_block
from nas.blocks.layers import ConvBNAct


class Network(nn.Module):
    """A built architecture; ``features`` is everything before global pooling."""

    def __init__(self, *, arch: ArchSpec, initialise: bool = True) -> None:
        super().__init__()
        self.arch = arch
        positions = list(arch.positions())
        self.stem = get_block(arch.stem.type).module(arch.stem, in_channels=arch.in_channels)
        self.blocks = nn.Sequential(*(get_block(p.spec.type).module(p.spec, in_channels=p.in_channels) for p in positions[1:]))
        self.head = (
            ConvBNAct(in_channels=arch.out_channels, out_channels=arch.head.out, act=arch.head.act)
            if arch.head is not None
            else nn.Identity()
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(arch.feature_channels, arch.num_classes)
        if initialise:  # False: weights loaded next (the supernet's extraction on the meta device, where init costs ~0.1 s)
            _initialise(self)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


def _initialise(model: nn.Module) -> None:
    """The MobileNet reference initialisation (He fan-out convs, unit BN, small classifier)."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0, 0.01)
            nn.init.zeros_(module.bias)


def build_model(arch: ArchSpec) -> Network:
    return Network(arch=arch)
