"""Exact parameter and multiply-accumulate counts, computed from the spec alone.

MACs count conv and linear multiply-adds only (BN, activations, pooling and
adds are free), as in the MobileNet papers and NAS-Bench-Macro. Parameters count
everything, BN included, so they equal ``sum(p.numel() for p in model.parameters())``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

from nas.arch import ArchSpec
from nas.blocks import get_block
from nas.blocks.base import Conv


@dataclass(frozen=True)
class LayerCost:
    name: str
    type: str
    token: str
    in_shape: tuple[int, int, int]  # C, H, W
    out_shape: tuple[int, int, int]
    params: int
    macs: int
    macs_by_kind: dict[str, int] = field(hash=False, compare=False)


@dataclass(frozen=True)
class CostReport:
    layers: tuple[LayerCost, ...]

    @property
    def params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    def share_by_type(self) -> dict[str, tuple[float, float]]:
        """Layer type → (share of MACs, share of params)."""
        macs: defaultdict[str, int] = defaultdict(int)
        params: defaultdict[str, int] = defaultdict(int)
        for layer in self.layers:
            macs[layer.type] += layer.macs
            params[layer.type] += layer.params
        return {key: (macs[key] / max(self.macs, 1), params[key] / max(self.params, 1)) for key in macs}

    def share_by_kind(self) -> dict[str, float]:
        """Primitive kind (conv1x1, depthwise3x3, conv3x3, se, fc) → share of MACs."""
        totals: dict[str, int] = defaultdict(int)
        for layer in self.layers:
            for kind, value in layer.macs_by_kind.items():
                totals[kind] += value
        return {kind: value / max(self.macs, 1) for kind, value in sorted(totals.items(), key=lambda kv: -kv[1])}


def _sum(convs: list[Conv], in_size: int) -> tuple[int, int, dict[str, int]]:
    params, macs = 0, 0
    kinds: defaultdict[str, int] = defaultdict(int)
    size = in_size
    for conv in convs:
        params += conv.params()
        layer_macs = conv.macs(size)
        macs += layer_macs
        kinds[conv.layer_kind] += layer_macs
        if not conv.pooled:
            size = (size - 1) // conv.stride + 1
    return params, macs, dict(kinds)


@lru_cache(maxsize=65536)
def count(arch: ArchSpec) -> CostReport:
    layers = []
    for pos in arch.positions():
        convs = get_block(pos.spec.type).convs(pos.spec, in_channels=pos.in_channels)
        params, macs, kinds = _sum(convs, pos.in_size)
        layers.append(
            LayerCost(
                pos.name,
                pos.spec.type,
                pos.spec.token(),
                (pos.in_channels, pos.in_size, pos.in_size),
                (pos.spec.out, pos.out_size, pos.out_size),
                params,
                macs,
                kinds,
            )
        )
    size, channels = arch.final_size, arch.out_channels
    head_convs = [Conv(channels, arch.head.out)] if arch.head is not None else []
    head_convs.append(Conv(arch.feature_channels, arch.num_classes, bias=True, norm=False, pooled=True, kind="fc"))
    params, macs, kinds = _sum(head_convs, size)
    head_token = arch.head.token() if arch.head is not None else "head_none"
    layers.append(LayerCost("head", "head", head_token, (channels, size, size), (arch.num_classes, 1, 1), params, macs, kinds))
    return CostReport(tuple(layers))
