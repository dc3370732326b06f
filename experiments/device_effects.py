"""MobileDets' device effects in numbers: fused vs depthwise IBN at low channels, 5×5 vs 3×3, 36 vs 40 channels.

    taskset -c 0 python -m experiments.device_effects

dsp / dsp-sm8550 / edgetpu numbers come from the shipped modelled tables (the analytic model where an op is
not in a table, marked so); cpu numbers are measured here with onnxruntime (1 thread, fp32 and int8 QDQ, ops timed
interleaved). Writes experiments/results/device_effects.{json,md}.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import torch
from tqdm import tqdm

from experiments._lib.reference_networks import reference_prims
from nas.arch import block_from_dict
from nas.io import atomic_write_text
from nas.latency.backends.analytic import block_prims, device_model
from nas.latency.devices import get_device
from nas.latency.profile import TimingOptions, export_op, time_models_interleaved
from nas.latency.signature import op_key
from nas.space.space import Op

RESULTS = Path(__file__).resolve().parent / "results"
MODELLED = ("dsp", "dsp-sm8550", "edgetpu")


def ibn(type_: str, *, c_in: int, c_out: int, size: int, kernel: int = 3, expansion: float = 4, act: str = "relu") -> Op:
    spec = block_from_dict({"type": type_, "out": c_out, "kernel": kernel, "stride": 1, "expansion": expansion, "act": act}, key="effect")
    return Op(spec, c_in, size)


# (effect, label, op A, op B): each effect reports B / A on every device
COMPARISONS = [
    (
        "fused vs depthwise IBN, low channels",
        "56×56×24, e4, k3",
        ibn("ibn", c_in=24, c_out=24, size=56),
        ibn("fused_ibn", c_in=24, c_out=24, size=56),
    ),
    (
        "fused vs depthwise IBN, low channels",
        "112×112×16, e4, k3",
        ibn("ibn", c_in=16, c_out=16, size=112),
        ibn("fused_ibn", c_in=16, c_out=16, size=112),
    ),
    (
        "fused vs depthwise IBN, high channels",
        "14×14×96, e4, k3",
        ibn("ibn", c_in=96, c_out=96, size=14),
        ibn("fused_ibn", c_in=96, c_out=96, size=14),
    ),
    (
        "5×5 vs 3×3 depthwise (IBN)",
        "56×56×24, e4",
        ibn("ibn", c_in=24, c_out=24, size=56),
        ibn("ibn", c_in=24, c_out=24, size=56, kernel=5),
    ),
    (
        "5×5 vs 3×3 depthwise (IBN)",
        "14×14×96, e4",
        ibn("ibn", c_in=96, c_out=96, size=14),
        ibn("ibn", c_in=96, c_out=96, size=14, kernel=5),
    ),
    (
        "h-swish vs ReLU (IBN)",
        "28×28×40, e4, k3",
        ibn("ibn", c_in=40, c_out=40, size=28),
        ibn("ibn", c_in=40, c_out=40, size=28, act="hswish"),
    ),
    (
        "36 vs 40 channels (IBN)",
        "28×28, e4, k3: C=36 vs C=40",
        ibn("ibn", c_in=40, c_out=40, size=28),
        ibn("ibn", c_in=36, c_out=36, size=28),
    ),
    (
        "36 vs 40 channels (IBN)",
        "28×28, e4, k3: C=32 vs C=40",
        ibn("ibn", c_in=40, c_out=40, size=28),
        ibn("ibn", c_in=32, c_out=32, size=28),
    ),
]


def modelled_ms(device: str, op: Op) -> tuple[float, str]:
    """The shipped table's entry, or the same analytic model where the table lacks the op."""
    table = get_device(device).load_table()
    key = op_key(op.spec, in_channels=op.in_channels, in_size=op.in_size, precision="int8")
    if key in table.entries:
        return table.entries[key].median_ms, "table"
    model, _ = device_model(device)
    return model.prims_ms(block_prims(op.spec, in_channels=op.in_channels, in_size=op.in_size)), "model"


def measure_cpu(ops: list[Op], precision: str) -> list[float]:
    options = TimingOptions(threads=1)
    with tempfile.TemporaryDirectory() as tmp:
        models = [
            (export_op(op, Path(tmp), precision=precision, name=f"op{i}"), (1, op.in_channels, op.in_size, op.in_size))
            for i, op in enumerate(tqdm(ops, desc=f"export {precision}"))
        ]
        timed = time_models_interleaved(models, provider="CPUExecutionProvider", options=options, rounds=15, runs_per_round=40)
    return [entry.median_ms for entry, _ in timed]


def main() -> int:
    torch.set_num_threads(1)
    ops = [op for _, _, a, b in COMPARISONS for op in (a, b)]
    cpu = {precision: measure_cpu(ops, precision) for precision in ("fp32", "int8")}
    rows = []
    for i, (effect, label, a, b) in enumerate(COMPARISONS):
        row = {"effect": effect, "layer": label, "a": a.spec.token(), "b": b.spec.token()}
        for precision in ("fp32", "int8"):
            ms_a, ms_b = cpu[precision][2 * i], cpu[precision][2 * i + 1]
            row[f"cpu-{precision}"] = {"a_ms": ms_a, "b_ms": ms_b, "ratio": ms_b / ms_a, "from": "measured"}
        for device in MODELLED:
            (ms_a, from_a), (ms_b, from_b) = modelled_ms(device, a), modelled_ms(device, b)
            row[device] = {"a_ms": ms_a, "b_ms": ms_b, "ratio": ms_b / ms_a, "from": f"modelled ({from_a}/{from_b})"}
        rows.append(row)
    networks = {}
    for device in MODELLED:
        model, _ = device_model(device)
        mnv2, r18 = (model.network_ms(reference_prims(n)) for n in ("mobilenet_v2", "resnet18"))
        networks[device] = {"mobilenet_v2_ms": mnv2, "resnet18_ms": r18, "ratio": r18 / mnv2}
    devices = [f"cpu-{p}" for p in ("fp32", "int8")] + list(MODELLED)
    lines = ["| effect | layer | B vs A | " + " | ".join(devices) + " |", "|---|---|---|" + "---|" * len(devices)]
    for row in rows:
        cells = [f"{row[d]['a_ms']:.3f} → {row[d]['b_ms']:.3f} ms (×{row[d]['ratio']:.2f})" for d in devices]
        lines.append(f"| {row['effect']} | {row['layer']} | `{row['a']}` → `{row['b']}` | " + " | ".join(cells) + " |")
    lines += ["", "| device (modelled) | MobileNetV2 ms | ResNet-18 ms | ResNet-18 / MobileNetV2 |", "|---|---|---|---|"]
    lines += [f"| {d} | {v['mobilenet_v2_ms']:.3f} | {v['resnet18_ms']:.3f} | ×{v['ratio']:.2f} |" for d, v in networks.items()]
    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(RESULTS / "device_effects.json", json.dumps({"ops": rows, "networks": networks}, indent=2) + "\n")
    atomic_write_text(RESULTS / "device_effects.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
