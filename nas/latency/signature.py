"""Latency-table keys: one canonical, readable string per (block, input shape, precision).

``ibn_k3_s2_h96_c24_relu6@112x112x16/int8``: the block's canonical token (derived
widths resolved, so ``expansion: 6`` on 16 channels and ``hidden: 96`` share an
entry), then input H×W×C, then precision. Equal ops in different spaces share keys.
"""

from __future__ import annotations

from functools import lru_cache

from nas.arch import ArchSpec, BlockSpec, HeadSpec
from nas.blocks import get_block

PRECISIONS = ("fp32", "int8")


def op_key(spec: BlockSpec, *, in_channels: int, in_size: int, precision: str) -> str:
    canonical = get_block(spec.type).canonical(spec, in_channels=in_channels)
    return f"{canonical.token()}@{in_size}x{in_size}x{in_channels}/{precision}"


def head_key(head: HeadSpec | None, *, in_channels: int, in_size: int, num_classes: int, precision: str) -> str:
    """Head entry: 1×1 conv + BN + act (if any), global pool and classifier, timed as one op."""
    token = head.token() if head is not None else "head_none"
    return f"{token}_n{num_classes}@{in_size}x{in_size}x{in_channels}/{precision}"


@lru_cache(maxsize=32768)
def arch_keys(arch: ArchSpec, precision: str) -> tuple[tuple[str, str], ...]:
    """(layer name, table key) for every layer, the head last. Cached: specs are hashable."""
    keys = [(pos.name, op_key(pos.spec, in_channels=pos.in_channels, in_size=pos.in_size, precision=precision)) for pos in arch.positions()]
    keys.append(
        (
            "head",
            head_key(arch.head, in_channels=arch.out_channels, in_size=arch.final_size, num_classes=arch.num_classes, precision=precision),
        )
    )
    return tuple(keys)
