"""Analytic int8 cost model for devices nobody here can run (Hexagon HTP, Edge TPU).

Every op is broken into primitives (convs from ``Block.convs``, residual adds,
pools, separate activation and squeeze-excite ops). A primitive costs a roofline
``max(padded MACs / (peak × class efficiency), bytes moved / bandwidth)`` plus a
fixed per-op overhead; channels are padded to the device's vector width, so 36
channels cost what 40 (or 64) cost. A network adds a fixed per-inference cost
and, on the Edge TPU, the time to stream weights that do not fit on chip.

The few parameters are fitted to published end-to-end latencies by research code
(``python -m experiments.calibrate_devices``); the shipped modelled tables record the
fitted model in their header, which is what this module reads, and say ``source: modelled``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from nas.blocks import get_block
from nas.errors import NasError
from nas.latency.table import Entry

if TYPE_CHECKING:
    from nas.arch import BlockSpec
    from nas.latency.backends import Job, MeasureResult, OnEntry
    from nas.latency.devices import Device

#: how compute time and memory time of one op combine
ROOFLINES: dict[str, Callable[[float, float], float]] = {"max": max, "sum": lambda compute, memory: compute + memory}

#: activations that int8 runtimes fuse into the conv (a clamp); others run as a separate op.
FUSED_ACTIVATIONS = (None, "relu", "relu6")


@dataclass(frozen=True)
class Prim:
    """One runtime op: a conv (``groups`` as torch), an elementwise op reading ``inputs`` tensors, or a pool."""

    kind: str  # "conv", "eltwise", "pool", "concat"
    in_channels: int
    out_channels: int
    in_size: int
    kernel: int = 1
    stride: int = 1
    groups: int = 1
    pooled: bool = False  # applied to a globally pooled 1×1 map (SE, classifier)
    inputs: int = 1

    @property
    def out_size(self) -> int:
        if self.pooled:
            return 1
        return (self.in_size - 1) // self.stride + 1

    @property
    def weights(self) -> int:
        if self.kind != "conv":
            return 0
        return self.in_channels // self.groups * self.out_channels * self.kernel * self.kernel

    @property
    def macs(self) -> int:
        return self.weights * self.out_size * self.out_size if self.kind == "conv" else 0

    def op_class(self, vector: int) -> str:
        """Efficiency class: depthwise (and narrow grouped convs, which leave vector lanes idle), pointwise, regular."""
        if self.groups > 1 and self.in_channels // self.groups < vector:
            return "depthwise"
        return "pointwise" if self.kernel == 1 else "regular"


@dataclass(frozen=True)
class DeviceModel:
    """Constants of one device plus its fitted parameters (see ``PARAMETERS``)."""

    name: str
    vector_width: int  # channels are padded to a multiple of this
    weights_on_chip: bool  # True: weights are loaded once (Edge TPU); False: read from DRAM every inference
    onchip_weight_bytes: int = 0  # Edge TPU parameter cache; larger models stream the rest every inference
    roofline: str = "sum"  # "max": compute and memory overlap fully; "sum": not at all (see ROOFLINES)
    params: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_header(cls, name: str, model: Any) -> DeviceModel:
        """The model a modelled table's header (``model:``) records: constants plus fitted ``params``."""
        if not isinstance(model, dict) or not isinstance(model.get("params"), dict) or "vector_width" not in model:
            raise NasError(f"device {name!r}: its table header has no analytic model (model.vector_width, model.params)")
        return cls(
            name=name,
            vector_width=int(model["vector_width"]),
            weights_on_chip=bool(model.get("weights_on_chip", False)),
            onchip_weight_bytes=int(model.get("onchip_weight_bytes") or 0),
            roofline=str(model.get("roofline", "sum")),
            params={str(k): float(v) for k, v in model["params"].items()},
        )

    def with_params(self, params: dict[str, float]) -> DeviceModel:
        return replace(self, params={**self.params, **params})

    # -- one primitive -----------------------------------------------------------------
    def prim_ms(self, prim: Prim) -> float:
        p, vec = self.params, self.vector_width
        hw_in, hw_out = prim.in_size * prim.in_size, prim.out_size * prim.out_size
        if prim.pooled:
            hw_in = 1 if prim.kind == "conv" else hw_in
        cin, cout = _pad(prim.in_channels, vec), _pad(prim.out_channels, vec)
        moved = hw_in * cin * prim.inputs + hw_out * cout
        if prim.kind == "conv":
            if not self.weights_on_chip:
                moved += prim.weights
            cls = prim.op_class(vec)
            if cls == "depthwise":
                macs = hw_out * cout * prim.kernel**2 * _pad(prim.in_channels // prim.groups, 1)
                eff = p["eff_depthwise"] * (p["kernel_penalty"] if prim.kernel > 3 else 1.0)
            else:
                macs = hw_out * cout * (cin // prim.groups if prim.groups > 1 else cin) * prim.kernel**2
                eff = p["eff_pointwise"] if cls == "pointwise" else 1.0
            compute_s = macs / (p["peak_gmacs"] * 1e9 * eff)
        else:
            compute_s = 0.0
        memory_s = moved / (p["bandwidth_gbs"] * 1e9)
        return (ROOFLINES[self.roofline](compute_s, memory_s) + p["op_overhead_us"] * 1e-6) * 1e3

    def prims_ms(self, prims: Iterable[Prim]) -> float:
        return sum(self.prim_ms(prim) for prim in prims)

    # -- a whole network ---------------------------------------------------------------
    def network_ms(self, prims: Sequence[Prim]) -> float:
        """Sum of ops + per-inference cost + weight streaming beyond the on-chip cache (Edge TPU)."""
        total = self.prims_ms(prims) + self.params["inference_overhead_us"] * 1e-3
        if self.weights_on_chip and self.onchip_weight_bytes:
            spill = max(0, sum(prim.weights for prim in prims) - self.onchip_weight_bytes)
            total += spill / (self.params["stream_mbs"] * 1e6) * 1e3
        return total


def _pad(channels: int, vector: int) -> int:
    return int(math.ceil(channels / vector) * vector)


# -- primitives of the framework's blocks ------------------------------------------------
def _activation_prims(act: str | None, channels: int, size: int) -> list[Prim]:
    return [] if act in FUSED_ACTIVATIONS else [Prim("eltwise", channels, channels, size)]


def block_prims(spec: BlockSpec, *, in_channels: int, in_size: int) -> list[Prim]:
    """Runtime ops of one block, derived from ``Block.convs`` so that plugin blocks are priced too.

    Every conv but a multi-conv block's last (the linear projection) carries the block's
    activation; a non-fusable activation (h-swish, swish) becomes its own op. A squeeze-excite
    (pooled convs) adds a global pool and a channel-wise multiply; a residual adds an add.
    """
    block = get_block(spec.type)
    convs = block.convs(spec, in_channels=in_channels)
    prims: list[Prim] = []
    size = in_size
    spatial = [i for i, conv in enumerate(convs) if not conv.pooled]
    for index, conv in enumerate(convs):
        if conv.pooled:
            if index == 0 or not convs[index - 1].pooled:  # squeeze: pool before the first pooled conv
                prims.append(Prim("pool", conv.in_channels, conv.in_channels, size, pooled=True))
            prims.append(Prim("conv", conv.in_channels, conv.out_channels, 1, groups=conv.groups, pooled=True))
            if index + 1 == len(convs) or not convs[index + 1].pooled:  # excite: scale the feature map
                prims.append(Prim("eltwise", conv.out_channels, conv.out_channels, size, inputs=2))
            continue
        prims.append(Prim("conv", conv.in_channels, conv.out_channels, size, conv.kernel, conv.stride, conv.groups))
        size = (size - 1) // conv.stride + 1
        is_projection = len(spatial) > 1 and index == spatial[-1]
        if not is_projection:
            prims += _activation_prims(spec.act, conv.out_channels, size)
    if block.has_residual(spec, in_channels=in_channels) and convs:
        prims.append(Prim("eltwise", spec.out, spec.out, size, inputs=2))
    return prims


def head_prims(*, in_channels: int, in_size: int, out: int | None, act: str | None, num_classes: int) -> list[Prim]:
    """Head entry: optional 1×1 conv + act, global average pool, classifier."""
    prims: list[Prim] = []
    channels = in_channels
    if out is not None:
        prims.append(Prim("conv", in_channels, out, in_size))
        prims += _activation_prims(act, out, in_size)
        channels = out
    prims.append(Prim("pool", channels, channels, in_size, pooled=True))
    prims.append(Prim("conv", channels, num_classes, 1, pooled=True))
    return prims


def job_prims(op: Any) -> list[Prim]:
    """Primitives of a table job's op: a block ``Op`` or a ``HeadOp``."""
    if hasattr(op, "spec"):
        return block_prims(op.spec, in_channels=op.in_channels, in_size=op.in_size)
    return head_prims(in_channels=op.in_channels, in_size=op.in_size, out=op.out, act=op.act, num_classes=op.num_classes)


HEADER_KEYS = ("runtime", "backend", "model", "calibration", "fidelity", "correction", "notes")


def device_model(device: str) -> tuple[DeviceModel, dict[str, Any]]:
    """The analytic model of ``device`` from its shipped modelled table, and the header keys a new table copies."""
    from nas.latency.devices import get_device
    from nas.latency.table import LatencyTable

    path = get_device(device).table_path()
    if not path.exists():
        raise NasError(f"device {device!r}: no table at {path} to read its analytic model from (only modelled devices have one)")
    header = LatencyTable.load(path).header
    if header.get("backend") != "analytic":
        raise NasError(
            f"{path}: device {device!r} has no analytic model (its table's backend is {header.get('backend')!r}, not 'analytic')"
        )
    return DeviceModel.from_header(device, header.get("model")), {k: header[k] for k in HEADER_KEYS if k in header}


# -- the backend ---------------------------------------------------------------------------
class AnalyticBackend:
    """``nas-profile --backend analytic``: modelled entries from the device's fitted analytic model.

    The model (constants and fitted parameters) comes from the device's shipped table header
    (``model:``), so extending a modelled table to a new space needs no data. The fit itself is
    research code: ``python -m experiments.calibrate_devices`` against published latencies
    (Qualcomm AI Hub perf.yaml, coral.ai Edge TPU benchmarks).
    """

    name = "analytic"
    source = "modelled"

    def __init__(self, *, device: Device, provider: str | None = None, out: Any = None, **options: Any) -> None:
        self.device = device
        self.model, self.fit_header = device_model(device.name)

    def header(self) -> dict[str, Any]:
        return self.fit_header

    def measure(self, jobs: Sequence[Job], *, precision: str, on_entry: OnEntry | None = None) -> MeasureResult:
        from nas.latency.backends import MeasureResult

        entries: dict[str, Entry] = {}
        for job in jobs:
            ms = round(self.model.prims_ms(job_prims(job.op)), 6)  # the precision a table file keeps
            entries[job.key] = Entry(ms, ms, ms, 0)  # runs = 0: a modelled number, not a measurement
            if on_entry is not None:
                on_entry(job.key, entries[job.key])
        return MeasureResult(entries=entries, note=f"{len(entries)} modelled entries (analytic model of {self.device.name})")


def fill_modelled(table: Any, jobs: Sequence[Job]) -> int:
    """Price the jobs a modelled table lacks with the analytic model in its own header; returns how many.

    Pricing an op is a few roofline sums, so any architecture works on a modelled device with no
    profiling step. Prices computed here are cached in the user store (``nas.latency.price_cache``,
    keyed by a hash of the model) and read back on the next call. Other tables are left alone.
    """
    from nas.latency.price_cache import load_cached, model_hash, save_cached

    if table.source != "modelled" or table.header.get("backend") != "analytic":
        return 0
    todo = [job for job in jobs if job.key not in table.entries]
    if not todo:
        return 0
    model = DeviceModel.from_header(table.device, table.header.get("model"))
    digest = model_hash(table.header.get("model"))
    cached = load_cached(table.device, digest)
    found = {job.key: cached[job.key] for job in todo if job.key in cached}
    priced = {}
    for job in todo:
        if job.key not in found:
            ms = round(model.prims_ms(job_prims(job.op)), 6)  # as a table file keeps it: the cache reads back the same number
            priced[job.key] = Entry(ms, ms, ms, 0)  # runs = 0: modelled
    table.merge({**found, **priced})
    if priced:
        save_cached(table, digest, priced)
    return len(todo)
