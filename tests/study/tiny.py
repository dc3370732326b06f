"""A real, small latency table for tests: NAS-Bench-Macro ops and MobileNetV2-α references at a tiny resolution.

Every entry is measured here with onnxruntime (few runs, so a few seconds in all):
tests price candidates with real numbers, never invented ones.
"""

from __future__ import annotations

from pathlib import Path

from nas.devices import Device
from nas.latency.backends.ort import OrtBackend
from nas.latency.profile import TimingOptions, arch_jobs, build_table, open_table, space_jobs
from nas.records import REFERENCE_WIDTHS
from nas.space import get_space

SPACE = "nas_bench_macro"
RESOLUTION = 16
FAST = TimingOptions(warmup=2, min_runs=5, min_seconds=0.0)


def build_tiny_table(folder: Path, *, precision: str = "fp32", references: bool = True) -> Path:
    """``folder/tiny-<precision>.yaml`` covering the space (and MobileNetV2-α) at RESOLUTION."""
    path = Path(folder) / f"tiny-{precision}.yaml"
    device = Device(
        name=f"tiny-{precision}", description="test table: this host's CPU, few runs", precision=precision, backend="ort", table=str(path)
    )
    backend = OrtBackend(device=device, timing=FAST, progress=False)
    table = open_table(path, device=device, backend=backend, precision=precision)
    space = get_space(SPACE, resolution=RESOLUTION)
    ops, heads = space.ops()
    jobs = space_jobs(ops, heads, precision)
    if references:
        for width in REFERENCE_WIDTHS:
            jobs += arch_jobs(
                get_space("mobilenet_v2", width=width, resolution=RESOLUTION, num_classes=space.num_classes).arch(), precision
            )
    build_table(list({job.key: job for job in jobs}.values()), table=table, backend=backend, precision=precision)
    return path
