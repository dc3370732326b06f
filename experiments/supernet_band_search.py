"""What do constrained CIFAR searches choose on cpu and dsp when the supernet ranks the candidates?

    taskset -c 1 python -m experiments.supernet_band_search --supernet experiments/cache/supernet_band/supernet \\
        --trials 60 --widths 0.35 0.5 0.75            # results/supernet_band_search.{md,json}

For each device and each MobileNetV2-α of the CIFAR search-vs-MobileNetV2 experiment
(``experiments/cifar_search_vs_mobilenetv2.py``: the target is ``mobilenet_v2_cifar``-α's latency on the
device's shipped table), one ``nas-search --space mobiledet_cifar --device D --objective constrained
--latency-target T --proxy supernet --supernet DIR --data D`` runs as a real subprocess (its study is a
journal in ``cache/supernet_band/search-*``, so a rerun resumes it). Reported per search: the fraction of the
budget the best network uses on its own device and on the other's table, its block types, and whether the
network found for the dsp differs from the cpu one. Each finished search is banked at once. The found
networks are not trained here (no CPU left for it): no accuracy claims.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from nas import ArchSpec, count, get_device, get_space
from nas.io import atomic_write_text

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
CACHE = HERE / "cache" / "supernet_band"
SPACE, REFERENCE = "mobiledet_cifar", "mobilenet_v2_cifar"
TYPES = ("fused_ibn", "tucker", "ibn", "separable", "conv")


def search(device: str, width: float, target_ms: float, args: argparse.Namespace) -> tuple[ArchSpec, float]:
    """One constrained search in a subprocess; the best architecture and the wall seconds of this call."""
    out = CACHE / f"search-{device}-{width:g}-{args.trials}"
    command = [
        shutil.which("nas-search") or "nas-search",
        *("--space", SPACE, "--device", device, "--objective", "constrained"),
        *("--latency-target", f"{target_ms:.6f}", "--trials", str(args.trials), "--seed", "0"),
        *("--proxy", "supernet", "--supernet", str(args.supernet), "--data", args.data),
        *("--threads", "1", "--out", str(out), "--storage", str(out / "study.journal"), "--no-progress"),
    ]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return ArchSpec.from_yaml((out / "best" / "arch.yaml").read_text()), time.perf_counter() - started


def trial_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def structure(arch: ArchSpec) -> dict[str, Any]:
    blocks = [b for b in arch.blocks if b.type != "skip"]
    return {
        "types": {t: sum(b.type == t for b in blocks) for t in TYPES if any(b.type == t for b in blocks)},
        "skips": sum(b.type == "skip" for b in arch.blocks),
        "kernel5": sum(b.kernel == 5 for b in blocks),
    }


def markdown(result: dict[str, Any]) -> str:
    devices = result["devices"]
    lines = [
        "# Constrained CIFAR searches with the supernet proxy (`mobiledet_cifar`)",
        "",
        f"Written by `python -m experiments.supernet_band_search` ({result['trials']} trials per search, NSGA-II, seed 0, "
        f"supernet `{result['supernet']}`: {result['supernet_training']}). Targets: MobileNetV2-α's latency on each "
        "device's shipped table, as in the CIFAR search-vs-MobileNetV2 experiment. The found networks are not trained.",
        "",
        "| found for | α | target ms | "
        + " | ".join(f"{d} / target" for d in devices)
        + " | proxy score | blocks | k5 | MACs | within budget / trials | largest fraction tried | search min |",
        "| --- | --- | --- | " + " | ".join("---" for _ in devices) + " | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in result["rows"]:
        cells = " | ".join(f"{row['latency_ms'][d] / result['targets_ms'][d][row['width']]:.2f}" for d in devices)
        types = ", ".join(f"{t} {n}" for t, n in row["structure"]["types"].items()) + f", skip {row['structure']['skips']}"
        lines.append(
            f"| {row['device']} | {row['width']} | {row['target_ms']:.4f} | {cells} | {row['score']:.3f} | {types} | "
            f"{row['structure']['kernel5']} | {row['macs'] / 1e6:.1f}M | {row['trials_within_budget']} / {row['trials_complete']} | "
            f"{row['largest_feasible_fraction']:.2f} | {row['seconds'] / 60:.1f} |"
        )
    lines += ["", "cpu vs dsp network at the same α: " + "; ".join(f"α {w}: {v}" for w, v in result["same_network"].items()), ""]
    lines += [f"Host: {result['host']}.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--supernet", type=Path, default=CACHE / "supernet", help="a folder holding supernet.pt")
    parser.add_argument("--data", default=f"imagefolder:{HERE / 'cache' / 'cifar10'}")
    parser.add_argument("--devices", nargs="+", default=["cpu", "dsp"])
    parser.add_argument("--widths", nargs="+", type=float, default=[0.35, 0.5, 0.75])
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--results", type=Path, default=RESULTS / "supernet_band_search")
    args = parser.parse_args()
    tables = {d: get_device(d).load_table() for d in args.devices}
    refs = {w: get_space(REFERENCE, width=w).arch(name=f"MobileNetV2-{w:g}") for w in args.widths}
    targets = {d: {f"{w:g}": tables[d].latency(refs[w]) for w in args.widths} for d in args.devices}
    supernet_result = args.supernet / "result.json"
    training = json.loads(supernet_result.read_text())["training"] if supernet_result.is_file() else {}
    result: dict[str, Any] = {
        "devices": args.devices,
        "trials": args.trials,
        "supernet": str(args.supernet),
        "supernet_training": f"{training.get('steps', '?')} SPOS steps of batch {training.get('batch_size', 64)}",
        "targets_ms": targets,
        "host": "x86_64 2-core AMD EPYC KVM (shared, noisy), 1 torch thread on `taskset -c 1`",
        "rows": [],
        "same_network": {},
    }
    for w in args.widths:
        found = {}
        for device in args.devices:
            arch, seconds = search(device, w, targets[device][f"{w:g}"], args)
            found[device] = arch
            trials = trial_rows(CACHE / f"search-{device}-{w:g}-{args.trials}" / "trials.csv")
            chosen = next((t for t in trials if t["arch"] == arch.to_string()), {})
            feasible = [t for t in trials if t["state"] == "COMPLETE" and float(t["latency_ms"]) <= targets[device][f"{w:g}"]]
            result["rows"].append(
                {
                    "device": device,
                    "width": f"{w:g}",
                    "target_ms": targets[device][f"{w:g}"],
                    "latency_ms": {d: tables[d].latency(arch) for d in args.devices},
                    "score": float(chosen.get("proxy") or "nan"),
                    "trials_complete": sum(t["state"] == "COMPLETE" for t in trials),
                    "trials_within_budget": len(feasible),
                    "largest_feasible_fraction": max((float(t["latency_ms"]) for t in feasible), default=0.0) / targets[device][f"{w:g}"],
                    "proxy_seconds_median": statistics.median(float(t["proxy_seconds"]) for t in trials if t["proxy_seconds"]),
                    "arch": arch.to_string(),
                    "structure": structure(arch),
                    "macs": count(arch).macs,
                    "seconds": round(seconds, 1),
                }
            )
            atomic_write_text(args.results.with_suffix(".json"), json.dumps(result, indent=1) + "\n")
            atomic_write_text(args.results.with_suffix(".md"), markdown(result))
            print(f"{device} α={w:g}: {result['rows'][-1]['latency_ms'][device] / targets[device][f'{w:g}']:.2f} of the budget", flush=True)
        if len(found) > 1:
            strings = {a.to_string() for a in found.values()}
            result["same_network"][f"{w:g}"] = "identical" if len(strings) == 1 else "different"
        atomic_write_text(args.results.with_suffix(".json"), json.dumps(result, indent=1) + "\n")
        atomic_write_text(args.results.with_suffix(".md"), markdown(result))


if __name__ == "__main__":
    main()
