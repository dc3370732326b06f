"""The contract every block type fulfils, built-in or plugin.

A block type knows how to (1) read and check its spec, (2) build its module,
(3) list its primitive convolutions so that params and MACs are counted without
running torch, and (4) give the canonical spec used as its latency-table key.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from nas.block_spec import ACTIVATIONS, BlockSpec
from nas.channels import make_divisible
from nas.errors import SpecError

if TYPE_CHECKING:  # torch is imported when a module is built, not when a space is parsed
    from torch import nn

ALLOWED_KERNELS = (1, 3, 5, 7, 9)
ALLOWED_STRIDES = (1, 2)


@dataclass(frozen=True)
class Conv:
    """A primitive conv (or linear, ``kernel=1`` on a pooled map) followed by BN unless ``norm`` is False."""

    in_channels: int
    out_channels: int
    kernel: int = 1
    stride: int = 1
    groups: int = 1
    bias: bool = False
    norm: bool = True
    pooled: bool = False  # applied to a globally pooled 1×1 map (SE, classifier)
    kind: str | None = None  # override the derived kind (e.g. "fc", "se")

    @property
    def layer_kind(self) -> str:
        if self.kind is not None:
            return self.kind
        if self.groups == self.in_channels == self.out_channels and self.groups > 1:
            return f"depthwise{self.kernel}x{self.kernel}"
        if self.groups > 1:
            return f"group_conv{self.kernel}x{self.kernel}"
        return f"conv{self.kernel}x{self.kernel}"

    def params(self) -> int:
        weights = self.in_channels // self.groups * self.out_channels * self.kernel * self.kernel
        return weights + (self.out_channels if self.bias else 0) + (2 * self.out_channels if self.norm else 0)

    def macs(self, in_size: int) -> int:
        out_size = 1 if self.pooled else (in_size - 1) // self.stride + 1
        return self.in_channels // self.groups * self.out_channels * self.kernel * self.kernel * out_size * out_size


class Block(ABC):
    """Base class of block types; subclasses set ``name`` and the keys they accept."""

    name: ClassVar[str]
    keys: ClassVar[tuple[str, ...]] = ("kernel", "act")  # accepted besides type, out, stride
    required: ClassVar[tuple[str, ...]] = ()
    extra_keys: ClassVar[tuple[str, ...]] = ()  # plugin-specific keys, stored in BlockSpec.options
    description: ClassVar[str] = ""

    # -- spec ---------------------------------------------------------------------------
    def parse(self, data: Mapping[str, Any]) -> BlockSpec:
        allowed = {"type", "out", "stride", *self.keys}
        unknown = sorted(set(data) - allowed - set(self.extra_keys))
        if unknown:
            listed = ", ".join(sorted(allowed | set(self.extra_keys)))
            raise SpecError(f"unknown key for block type {self.name!r} (allowed: {listed})", key=str(unknown[0]))
        for key in ("out", *self.required):
            if key not in data:
                raise SpecError(f"missing required key for block type {self.name!r}", key=key)
        values = {key: data[key] for key in data if key in allowed and key != "type"}
        for key in ("out", "kernel", "stride", "hidden"):
            if key in values and (isinstance(values[key], bool) or not isinstance(values[key], int)):
                raise SpecError(f"must be an integer, got {values[key]!r}", key=key)
        for key in ("expansion", "in_ratio", "out_ratio", "se"):
            if key in values and (isinstance(values[key], bool) or not isinstance(values[key], (int, float))):
                raise SpecError(f"must be a number, got {values[key]!r}", key=key)
            if key in values:
                values[key] = float(values[key])
        options = tuple((key, data[key]) for key in self.extra_keys if key in data)
        defaults = self.defaults()
        merged = {**defaults, **values}
        return BlockSpec(type=self.name, options=options, **merged)

    def defaults(self) -> dict[str, Any]:
        return {"kernel": 3, "act": "relu"} if "kernel" in self.keys else {}

    def validate(self, spec: BlockSpec) -> None:
        if spec.out < 1:
            raise SpecError(f"must be a positive channel count, got {spec.out}", key="out")
        if spec.stride not in ALLOWED_STRIDES:
            raise SpecError(f"stride must be one of {ALLOWED_STRIDES}, got {spec.stride}", key="stride")
        if spec.kernel is not None and spec.kernel not in ALLOWED_KERNELS:
            raise SpecError(f"kernel must be one of {ALLOWED_KERNELS}, got {spec.kernel}", key="kernel")
        if spec.act is not None and spec.act not in ACTIVATIONS:
            raise SpecError(f"unknown activation {spec.act!r} (allowed: {', '.join(ACTIVATIONS)})", key="act")
        for key in ("expansion", "in_ratio", "out_ratio"):
            value = getattr(spec, key)
            if value is not None and value <= 0:
                raise SpecError(f"must be positive, got {value}", key=key)
        if spec.hidden is not None and spec.hidden < 1:
            raise SpecError(f"must be a positive channel count, got {spec.hidden}", key="hidden")
        if spec.se is not None and not 0 < spec.se <= 1:
            raise SpecError(f"squeeze-excite ratio must be in (0, 1], got {spec.se}", key="se")

    # -- behaviour ----------------------------------------------------------------------
    @abstractmethod
    def module(self, spec: BlockSpec, *, in_channels: int) -> nn.Module:
        """A plain ``nn.Module`` taking (N, in_channels, H, W)."""

    @abstractmethod
    def convs(self, spec: BlockSpec, *, in_channels: int) -> list[Conv]:
        """Every conv of the module in order, for analytic counting."""

    def canonical(self, spec: BlockSpec, *, in_channels: int) -> BlockSpec:
        """The spec with derived widths resolved, so equal ops get equal table keys."""
        return spec

    def has_residual(self, spec: BlockSpec, *, in_channels: int) -> bool:
        return False


def kernel_of(spec: BlockSpec) -> int:
    """The kernel of a block type that has one. ``parse`` fills in the default, so None means a
    ``BlockSpec`` built by hand without one: a one-line SpecError rather than a TypeError from torch."""
    if spec.kernel is None:
        raise SpecError(f"block type {spec.type!r} needs a kernel", key="kernel")
    return spec.kernel


def expanded_channels(spec: BlockSpec, in_channels: int) -> int:
    """Hidden width of ibn / fused_ibn: explicit ``hidden`` or make_divisible(in × expansion)."""
    if spec.hidden is not None:
        return spec.hidden
    expansion = 1.0 if spec.expansion is None else spec.expansion
    if expansion == 1.0:
        return in_channels
    return make_divisible(in_channels * expansion)


def se_channels(hidden: int, ratio: float) -> int:
    return make_divisible(hidden * ratio)
