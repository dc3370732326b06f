"""Import HW-NAS-Bench's FBNet-space per-block latencies as tables for pixel3, raspi4 and edgegpu.

HW-NAS-Bench (Li et al., ICLR 2021) measured every FBNet block at every position on
a Pixel 3 CPU and a Raspberry Pi 4 (TFLite) and on a Jetson TX2 (``edgegpu``); a
network's latency is the sum over stem, 22 blocks, head conv, pool and classifier,
which is exactly how our tables predict. The benchmark gives one number per block,
so entries have p10 = p90 = median and ``runs: 0`` (spread not published).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nas.errors import NasError
from nas.latency.table import Entry, LatencyTable, new_header

METRICS = {"pixel3": "pixel3_latency", "raspi4": "raspi4_latency", "edgegpu": "edgegpu_latency"}
SPACE = "fbnet"


def lut_keys(op: Any) -> list[str]:
    """HW-NAS-Bench key(s) whose latencies sum to one of our ops (a block ``Op`` or the ``HeadOp``)."""
    if not hasattr(op, "spec"):
        c, n, size = op.out, op.num_classes, op.in_size
        return [
            f"ConvNorm_H{size}_W{size}_Cin{op.in_channels}_Cout{c}_kernel1_stride1_group1",
            f"AvgP_H{size}_W{size}_Cin{c}_Cout{c}_kernel{size}_stride1",
            f"FC_Cin{c}_Cout{n}",
        ]
    spec, h, cin = op.spec, op.in_size, op.in_channels
    if spec.type == "skip":
        return [f"Skip_H{h}_W{h}_Cin{cin}_Cout{spec.out}_stride{spec.stride}"]
    if spec.type == "conv":
        return [f"ConvNorm_H{h}_W{h}_Cin{cin}_Cout{spec.out}_kernel{spec.kernel}_stride{spec.stride}_group1"]
    if spec.type == "ibn":
        expansion = int(spec.expansion or 1)
        return [
            f"ConvBlock_H{h}_W{h}_Cin{cin}_Cout{spec.out}_exp{expansion}_kernel{spec.kernel}_stride{spec.stride}_group{spec.option('groups', 1)}"
        ]
    raise NasError(f"HW-NAS-Bench has no latency for block type {spec.type!r} (fbnet space ops only)")


def import_hw_nas_bench(path: str | Path, device: str, *, table_path: Path | None = None) -> LatencyTable:
    """A ``source: imported`` table for ``device`` with an entry for every op of the fbnet space at 224."""
    from nas.latency.devices import get_device
    from nas.latency.profile import space_jobs
    from nas.space import get_space

    if device not in METRICS:
        raise NasError(f"HW-NAS-Bench has no latencies for device {device!r} (available: {', '.join(METRICS)})")
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise NasError(f"{path}: cannot read HW-NAS-Bench LUT JSON: {error}") from None
    lut = data.get(METRICS[device]) if isinstance(data, dict) else None
    if not isinstance(lut, dict):
        raise NasError(
            f"{path}: no '{METRICS[device]}' mapping (expected HW-NAS-Bench fbnet_lut.json, metrics {', '.join(METRICS.values())})"
        )
    target = get_device(device)
    space = get_space(SPACE)
    ops, heads = space.ops()
    header = new_header(
        device=device,
        description=target.description,
        source="imported",
        precision="fp32",
        runtime="as measured by HW-NAS-Bench (TFLite on Pixel 3 / Raspberry Pi 4 CPUs; Jetson TX2 for edgegpu)",
        imported_from=f"HW-NAS-Bench FBNet LUT ({path.name}, metric {METRICS[device]})",
        spaces=[f"{SPACE}@{space.resolution}"],
        notes="Imported per-block latencies; the benchmark publishes one number per block (no spread, runs: 0).",
    )
    table = LatencyTable(header=header, path=table_path or target.table_path())
    for job in space_jobs(ops, heads, "fp32"):
        keys = lut_keys(job.op)
        missing = [k for k in keys if k not in lut]
        if missing:
            raise NasError(f"{path}: {METRICS[device]} lacks {missing[0]} (needed for {job.key})")
        ms = float(sum(lut[k] for k in keys))
        table.entries[job.key] = Entry(ms, ms, ms, 0)
    return table
