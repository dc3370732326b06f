"""One layer's spec (``BlockSpec``), a leaf below both ``nas.arch`` and ``nas.blocks``.

Block types validate and build ``BlockSpec``s and ``ArchSpec`` holds them; keeping the
dataclass here lets ``nas.arch`` parse blocks through the block registry without an
import cycle (``nas.arch`` re-exports every name).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ACTIVATIONS = ("relu", "relu6", "hswish", "swish")
_BLOCK_KEYS = ("type", "out", "kernel", "stride", "expansion", "hidden", "in_ratio", "out_ratio", "act", "se")


def plain_number(value: float) -> float | int:
    """Integral floats print as ints so that YAML and strings round-trip exactly."""
    return int(value) if float(value).is_integer() else float(value)


@dataclass(frozen=True)
class BlockSpec:
    """One layer: a block type and its hyper-parameters (unused fields stay None)."""

    type: str
    out: int
    kernel: int | None = None
    stride: int = 1
    expansion: float | None = None
    hidden: int | None = None
    in_ratio: float | None = None
    out_ratio: float | None = None
    act: str | None = None
    se: float | None = None
    options: tuple[tuple[str, Any], ...] = ()  # extra keys declared by plugin block types

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for key in _BLOCK_KEYS:
            value = getattr(self, key)
            if value is None:
                continue
            data[key] = plain_number(value) if key in ("expansion", "in_ratio", "out_ratio", "se") else value
        data.update(self.options)
        return data

    def option(self, key: str, default: Any = None) -> Any:
        return dict(self.options).get(key, default)

    def token(self) -> str:
        """The compact one-block string, e.g. ``ibn_k3_s2_e6_c24_relu6``."""
        parts = [self.type]
        if self.kernel is not None:
            parts.append(f"k{self.kernel}")
        parts.append(f"s{self.stride}")
        for prefix, value in (("e", self.expansion), ("h", self.hidden), ("i", self.in_ratio), ("o", self.out_ratio)):
            if value is not None:
                parts.append(f"{prefix}{plain_number(value)}")
        if self.se is not None:
            parts.append(f"se{plain_number(self.se)}")
        parts.append(f"c{self.out}")
        if self.act is not None:
            parts.append(self.act)
        parts.extend(f"{key}={value}" for key, value in self.options)
        return "_".join(parts)
