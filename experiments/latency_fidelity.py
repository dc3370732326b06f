"""Fidelity of the measured CPU latency table: predicted vs end-to-end latency of random networks.

    taskset -c 1 python -m experiments.latency_fidelity --space mobiledet --space proxylessnas --samples 30 --calibrate 4

Each network is exported whole to ONNX (same exporter, opset, precision and
onnxruntime settings as the table's ops) and timed round-robin with the others
(``--rounds`` × ``--runs`` runs each, median). The context correction is fitted
on MobileNetV1/V2 reference networks plus ``--calibrate`` random networks per
space with seeds disjoint from the validation ones, so the figures are held out.
Writes experiments/results/latency_fidelity_<device>.{json,md,png} and stores
the correction and fidelity in the table header.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def prediction_cost_us(table, archs) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Mean µs per ``table.latency(arch)``: first call (keys computed) and cached calls (the search's steady state)."""
    from nas.latency.signature import arch_keys

    arch_keys.cache_clear()
    start = time.perf_counter()
    for arch in archs:
        table.latency(arch)
    cold = (time.perf_counter() - start) / len(archs) * 1e6
    repeats = 200
    start = time.perf_counter()
    for _ in range(repeats):
        for arch in archs:
            table.latency(arch)
    warm = (time.perf_counter() - start) / (repeats * len(archs)) * 1e6
    return {"first_call_us": round(cold, 2), "cached_us": round(warm, 3)}


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = report["groups"]
    fig, axes = plt.subplots(1, len(groups), figsize=(5.2 * len(groups), 4.8), squeeze=False)
    for ax, (label, group) in zip(axes[0], groups.items()):
        truth = np.array([r["measured"]["median_ms"] for r in group["rows"]])
        spread = np.array(
            [
                [r["measured"]["median_ms"] - r["measured"]["p10_ms"], r["measured"]["p90_ms"] - r["measured"]["median_ms"]]
                for r in group["rows"]
            ]
        ).T
        for key, name, marker in (
            ("raw_sum_ms", "op sum (no correction)", "x"),
            ("predicted_ms", "op sum + context correction", "o"),
            ("flops_ms", "FLOPs-proportional", "^"),
        ):
            pred = np.array([r[key] for r in group["rows"]])
            kind = {"raw_sum_ms": "uncorrected", "predicted_ms": "corrected", "flops_ms": "flops_baseline"}[key]
            f = group[kind]
            ax.errorbar(
                truth,
                pred,
                xerr=spread if key == "predicted_ms" else None,
                fmt=marker,
                ms=4,
                alpha=0.8,
                capsize=0,
                label=f"{name}: ±5% {f['within_5pct']:.0%}, ±10% {f['within_10pct']:.0%}, MAPE {f['mape_pct']:.1f}%",
            )
        lo, hi = truth.min() * 0.85, truth.max() * 1.15
        xs = np.linspace(lo, hi, 10)
        ax.plot(xs, xs, "k-", lw=0.8)
        ax.fill_between(xs, xs * 0.95, xs * 1.05, color="green", alpha=0.12, label="±5 %")
        ax.fill_between(xs, xs * 0.90, xs * 1.10, color="green", alpha=0.06, label="±10 %")
        ax.set_xlabel("measured end-to-end latency (ms, median; bars p10-p90)")
        ax.set_ylabel("predicted latency (ms)")
        ax.set_title(f"{label} on {report['device']} (n={len(truth)})")
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def markdown(report: dict) -> str:
    lines = [f"# Latency-table fidelity: {report['device']} ({report['precision']})", ""]
    c = report.get("correction")
    if c:
        lines.append(
            f"Context correction: scale {c['scale']:.4f}, per-call overhead {c['overhead_ms'] * 1000:.1f} µs, "
            f"fitted on {c['calibration_networks']} calibration networks (held out from the figures below)."
        )
        lines.append("")
    lines.append("| space | predictor | within ±5 % | within ±10 % | MAPE | bias | Spearman |")
    lines.append("|---|---|---|---|---|---|---|")
    for label, group in report["groups"].items():
        for kind, name in (("corrected", "op sum + correction"), ("uncorrected", "op sum"), ("flops_baseline", "FLOPs-proportional")):
            f = group[kind]
            lines.append(
                f"| {label} | {name} | {f['within_5pct']:.0%} | {f['within_10pct']:.0%} | {f['mape_pct']:.2f} % | {f['bias_pct']:+.2f} % | {f['spearman']:.3f} |"
            )
    lines.append("")
    for label, group in report["groups"].items():
        lines.append(
            f"- {label}: end-to-end measurement round-to-round spread (IQR of {report['rounds']} round medians / median, median over nets) "
            f"{group['measurement_round_spread_pct']:.1f} %, per-run p10–p90 {group['measurement_p10_p90_pct']:.1f} %"
        )
    p = report["prediction_cost"]
    lines.append(f"- prediction cost per architecture: {p['cached_us']:.2f} µs cached keys, {p['first_call_us']:.1f} µs first call")
    lines.append(f"- measurement wall time: {report['seconds'] / 60:.1f} min")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--space", action="append", default=[])
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--calibrate", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--no-references", action="store_true", help="calibrate on the spaces' own networks only (no MobileNetV1/V2)")
    parser.add_argument("--no-store", action="store_true")
    args = parser.parse_args(argv)
    spaces = args.space or ["mobiledet", "proxylessnas"]

    import torch

    torch.set_num_threads(1)
    from nas.cli.profile_validate import CALIBRATION_SEED
    from nas.latency.devices import get_device
    from nas.latency.validate import network_timer, reference_networks, store, validate
    from nas.space import get_space

    device = get_device(args.device)
    table = device.load_table()
    groups, calibration = {}, reference_networks() if args.calibrate and not args.no_references else []
    for name in spaces:
        space = get_space(name)
        groups[f"{space.name}@{space.resolution}"] = [space.random(i).with_name(f"{name}-s{i}") for i in range(args.samples)]
        calibration += [space.random(CALIBRATION_SEED + i).with_name(f"{name}-cal{i}") for i in range(args.calibrate)]
    start = time.perf_counter()
    report = validate(
        table,
        groups,
        calibration=calibration,
        rounds=args.rounds,
        runs_per_round=args.runs,
        timer=network_timer(device.backend, provider=device.provider),
    )
    report.update(device=device.name, precision=table.precision, rounds=args.rounds, runs=args.runs, seconds=time.perf_counter() - start)
    if not args.no_store:
        store(table, report)
    report["prediction_cost"] = prediction_cost_us(table, [a for archs in groups.values() for a in archs])
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = RESULTS / f"latency_fidelity_{device.name}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=1))
    stem.with_suffix(".md").write_text(markdown(report))
    plot(report, stem.with_suffix(".png"))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
