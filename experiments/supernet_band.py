"""Does a supernet trained on CIFAR-10 rank the 48 banked band networks of ``mobiledet_cifar``?

    # 1. the supernet (resumable: rerun the same command after a kill; 703 steps, 18 min on an idle core,
    #    about an hour on this shared one)
    nice -n 19 taskset -c 1 nas-supernet train --space mobiledet_cifar \\
        --data imagefolder:$PWD/experiments/cache/cifar10 --rule spos --epochs 1 --warmup-epochs 0.2 \\
        --batch 64 --resolution 32 --lr 0.05 --seed 0 --threads 1 --out experiments/cache/supernet_band/supernet
    # 2. beside it (same core): scores every checkpoint ≥ --every steps after the last one scored, each
    #    epoch end and the final supernet.pt; exits after the final one
    nice -n 19 taskset -c 1 python -m experiments.supernet_band --every 250
    # results/supernet_band.{md,json}; --report rewrites the .md from the .json

(``experiments/cache/cifar10`` is what ``experiments._lib.data.cifar10()`` unpacks, the images the band
networks were trained on; ``NAS_CACHE=experiments/cache/npz`` reuses its decoded arrays.)

Truth: the 48 band networks of ``experiments/results/cpu_band_lr01/`` and ``cpu_band_fresh_lr01/`` (random
``mobiledet_cifar`` networks with a cpu-table latency between MobileNetV2-0.35's and -0.5's, each trained
3 epochs at 32 px on all 50,000 training images, seeds 0 and 1); the truth is the mean of the two seeds'
test top-1. FLOPs are the analytic MACs (``nas.count``); the zero-cost default's scores are the ones banked
in ``experiments/results/cifar_gpu_lr01.json`` (those behind the README's +0.24).

Each scored checkpoint's shared weights (the training loop's ``checkpoint.pt``) are written as a supernet
file under ``cache/supernet_band/snapshots/step-N/`` and the networks are scored with the package's
``supernet`` proxy: weights inherited, BatchNorm recalibrated on 2 × 64 training images, top-1 on 500
images of the validation split that the supernet was trained without (the search's budget; the final
supernet is also scored on ``--final-val`` images). The CIFAR-10 test images are never used for scoring.
Every scoring is banked in the results file at once.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats

from nas import ArchSpec, count, get_space
from nas.io import atomic_write_text
from nas.latency.host import fingerprint
from nas.proxies.data import ImageData, load_data
from nas.proxies.supernet import SupernetProxy
from nas.supernet import Supernet
from nas.supernet.checkpoint import save_supernet

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
CACHE = HERE / "cache" / "supernet_band"
RUN_FILES = {
    "band": RESULTS / "cpu_band_lr01" / "cifar_gpu_runs.json",
    "band_fresh": RESULTS / "cpu_band_fresh_lr01" / "cifar_gpu_runs.json",
}
BANKED_PROXIES = RESULTS / "cifar_gpu_lr01.json"
SPACE = "mobiledet_cifar"
ROUNDS = 2000


def cpu_model() -> str:
    """The CPU's model name, family and model, for the results' host line."""
    info = fingerprint(runtime="torch")
    return f"{info['model_name']} (family {info['family']} model {info['model']})"


def band_networks() -> list[dict[str, Any]]:
    """The 48 networks: name, sample, architecture, mean 3-epoch top-1 of seeds 0 and 1, MACs, banked default score."""
    banked = json.loads(BANKED_PROXIES.read_text())
    rows = []
    for sample, path in RUN_FILES.items():
        runs = json.loads(path.read_text())["runs"]
        default = {row["net"]: row["proxy_default"] for row in banked[sample]["rows"]}
        for net in sorted({run["net"] for run in runs}):
            mine = [run for run in runs if run["net"] == net]
            seeds = sorted(run["seed"] for run in mine)
            if seeds != [0, 1] or len({run["arch"] for run in mine}) != 1:
                raise SystemExit(f"{path}: {net} has seeds {seeds} or two architectures; expected one arch, seeds 0 and 1")
            arch = ArchSpec.from_string(mine[0]["arch"], name=net)
            rows.append(
                {
                    "net": net,
                    "sample": sample,
                    "arch": mine[0]["arch"],
                    "top1": float(np.mean([run["top1"] for run in mine])),
                    "macs": count(arch).macs,
                    "default": default[net],
                }
            )
    return rows


def correlations(columns: dict[str, list[float]], truth: list[float], *, against: str = "macs", seed: int = 0) -> dict[str, Any]:
    """Spearman / Kendall of each column with 90 % bootstrap intervals, and the paired interval of column − ``against``."""
    t = np.asarray(truth)
    data = {name: np.asarray(values) for name, values in columns.items()}
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {f"{name}.{stat}": [] for name in data for stat in ("spearman", "kendall")}
    for _ in range(ROUNDS):
        pick = rng.integers(0, len(t), size=len(t))
        for name, values in data.items():
            draws[f"{name}.spearman"].append(stats.spearmanr(values[pick], t[pick])[0])
            draws[f"{name}.kendall"].append(stats.kendalltau(values[pick], t[pick])[0])
    out: dict[str, Any] = {}
    for name, values in data.items():
        out[name] = {}
        for stat, fn in (("spearman", stats.spearmanr), ("kendall", stats.kendalltau)):
            low, high = np.nanpercentile(draws[f"{name}.{stat}"], [5, 95])
            out[name][stat] = [float(fn(values, t)[0]), float(low), float(high)]
    for name in data:
        if name != against:
            diff = np.asarray(draws[f"{name}.spearman"]) - np.asarray(draws[f"{against}.spearman"])
            low, high = np.nanpercentile(diff, [5, 95])
            out[name][f"spearman_minus_{against}"] = [out[name]["spearman"][0] - out[against]["spearman"][0], float(low), float(high)]
    return out


def snapshot(checkpoint: Path, *, data: ImageData) -> tuple[Path, dict[str, Any]]:
    """Write the checkpoint's shared weights as a supernet file under CACHE/snapshots/step-N; return its folder and position."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    position = state["position"]
    folder = checkpoint.parent.parent / "snapshots" / f"step-{position['global_step']}"
    settings = state["identity"]["recipe"] if "recipe" in state["identity"] else {}
    space = get_space(SPACE).scaled(resolution=32, num_classes=data.num_classes)
    supernet = Supernet(space=space)
    supernet.load_state_dict(state["model"], strict=True)
    folder.mkdir(parents=True, exist_ok=True)
    save_supernet(
        folder,
        supernet=supernet,
        data=data,
        validation={"fraction": float(settings.get("val_fraction", 0.1)), "seed": int(settings.get("seed", 0))},
        sampling={**state["identity"].get("supernet", {}).get("sampling", {"rule": "spos"}), "seed": int(settings.get("seed", 0))},
        training={"steps": position["global_step"], "note": "an intermediate checkpoint of the run"},
    )
    return folder, position


def score(folder: Path, rows: list[dict[str, Any]], *, data: ImageData, val_size: int) -> tuple[list[float], list[float]]:
    """Every network's supernet score (top-1 on ``val_size`` validation images) and the seconds each took."""
    proxy = SupernetProxy(supernet=folder, val_size=val_size, device="cpu")
    proxy.prepare(space=get_space(SPACE).scaled(resolution=32), data=data)
    scores, seconds = [], []
    for row in rows:
        result = proxy.evaluate(ArchSpec.from_string(row["arch"], name=row["net"]), seed=0, data=data)
        scores.append(result.score)
        seconds.append(result.seconds)
    return scores, seconds


def evaluate_point(
    folder: Path, position: dict[str, Any], rows: list[dict[str, Any]], *, data: ImageData, val_size: int, per_epoch: int
) -> dict:
    started = time.perf_counter()
    scores, seconds = score(folder, rows, data=data, val_size=val_size)
    truth = [row["top1"] for row in rows]
    columns = {"supernet": scores, "macs": [row["macs"] for row in rows], "default": [row["default"] for row in rows]}
    table = {"all": correlations(columns, truth)}
    for sample in RUN_FILES:
        pick = [i for i, row in enumerate(rows) if row["sample"] == sample]
        table[sample] = correlations({k: [v[i] for i in pick] for k, v in columns.items()}, [truth[i] for i in pick])
    return {
        "step": position["global_step"],
        "epochs": round(position["global_step"] / per_epoch, 3),
        "train_seconds": round(position["seconds"] + position["epoch_seconds"], 1),
        "val_size": val_size,
        "scores": dict(zip((row["net"] for row in rows), scores)),
        "score_range": [min(scores), max(scores)],
        "seconds_per_network": {"median": float(np.median(seconds)), "max": float(max(seconds))},
        "scoring_seconds": round(time.perf_counter() - started, 1),
        "load_average": float(Path("/proc/loadavg").read_text().split()[0]),
        "ranking": table,
    }


def bank(path: Path, result: dict[str, Any]) -> None:
    atomic_write_text(path.with_suffix(".json"), json.dumps(result, indent=1) + "\n")
    atomic_write_text(path.with_suffix(".md"), markdown(result))


def fmt(cell: list[float]) -> str:
    return f"{cell[0]:+.2f} [{cell[1]:+.2f}, {cell[2]:+.2f}]"


def markdown(result: dict[str, Any]) -> str:
    points = result["points"]
    lines = [
        "# Supernet on the 48 banked `mobiledet_cifar` band networks",
        "",
        f"Written by `python -m experiments.supernet_band` (its docstring has the commands). Supernet: {result['training']}.",
        "Truth: each network's CIFAR-10 test top-1 after 3 epochs at 32 px (mean of seeds 0 and 1). Spearman / Kendall "
        f"with 90 % bootstrap intervals ({ROUNDS:,} resamples of the networks, paired for the differences). "
        "FLOPs = analytic MACs; default = the zero-cost default's banked scores. Supernet score: top-1 of the inherited "
        "weights on `val` images of the validation split (from the training images), BN recalibrated on 2 × 64 training images.",
        "",
        "## Correlation against training time (all 48 networks)",
        "",
        "| step | epochs | training min | val | supernet Spearman | supernet Kendall | supernet − FLOPs Spearman | s / network (median) | load avg |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for p in points:
        s = p["ranking"]["all"]["supernet"]
        lines.append(
            f"| {p['step']} | {p['epochs']:.2f} | {p['train_seconds'] / 60:.0f} | {p['val_size']} | {fmt(s['spearman'])} | "
            f"{fmt(s['kendall'])} | {fmt(s['spearman_minus_macs'])} | {p['seconds_per_network']['median']:.2f} | {p['load_average']:.1f} |"
        )
    last = points[-1] if points else None
    if last is not None:
        lines += [
            "",
            f"## Last point (step {last['step']}, {last['epochs']:.2f} epochs, val {last['val_size']}) beside FLOPs and the default",
            "",
            "| networks | n | supernet Spearman | supernet Kendall | FLOPs Spearman | FLOPs Kendall | default Spearman | default Kendall "
            "| supernet − FLOPs | default − FLOPs |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for part, table in last["ranking"].items():
            n = len(last["scores"]) if part == "all" else sum(1 for r in result["networks"] if r["sample"] == part)
            s, f, d = table["supernet"], table["macs"], table["default"]
            lines.append(
                f"| {part} | {n} | {fmt(s['spearman'])} | {fmt(s['kendall'])} | {fmt(f['spearman'])} | {fmt(f['kendall'])} | "
                f"{fmt(d['spearman'])} | {fmt(d['kendall'])} | {fmt(s['spearman_minus_macs'])} | {fmt(d['spearman_minus_macs'])} |"
            )
        lines += ["", *type_bias(result["networks"], last["scores"])]
    lines += ["", f"Host: {result['host']}.", ""]
    return "\n".join(lines)


def type_bias(networks: list[dict[str, Any]], scores: dict[str, float]) -> list[str]:
    """Per block type: how the supernet score and the truth each rank with the number of blocks of that type.

    A supernet whose score follows a block type more than the truth does favours that type's shared weights
    (a type whose weights train faster in the supernet looks better than it is).
    """
    rows = [row for row in networks if row["net"] in scores]
    counts = [[block.type for block in ArchSpec.from_string(row["arch"]).blocks] for row in rows]
    score, truth = [scores[row["net"]] for row in rows], [row["top1"] for row in rows]
    lines = [
        "## Block types: Spearman of the number of blocks of each type with the supernet score and with the truth",
        "",
        "| block type | blocks per network (min–max) | with supernet score | with truth (3-epoch top-1) |",
        "| --- | --- | --- | --- |",
    ]
    for kind in sorted({t for types in counts for t in types}):
        number = [types.count(kind) for types in counts]
        if len(set(number)) < 2:
            continue
        lines.append(
            f"| {kind} | {min(number)}–{max(number)} | {stats.spearmanr(score, number)[0]:+.2f} | {stats.spearmanr(truth, number)[0]:+.2f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=CACHE / "supernet", help="the nas-supernet train folder")
    parser.add_argument("--data", default=f"imagefolder:{HERE / 'cache' / 'cifar10'}", help="the data spec it was trained with")
    parser.add_argument("--every", type=int, default=250, help="score a checkpoint this many steps after the last scored one")
    parser.add_argument("--val", type=int, default=500, help="validation images per score (the search's default budget)")
    parser.add_argument("--final-val", type=int, default=2000, help="the final supernet is also scored on this many")
    parser.add_argument("--poll", type=float, default=20, help="seconds between looks at the checkpoint")
    parser.add_argument("--results", type=Path, default=RESULTS / "supernet_band")
    parser.add_argument("--report", action="store_true", help="only rewrite the .md from the .json")
    args = parser.parse_args()
    if args.report:
        atomic_write_text(args.results.with_suffix(".md"), markdown(json.loads(args.results.with_suffix(".json").read_text())))
        return
    torch.set_num_threads(1)
    rows = band_networks()
    data = load_data(args.data)
    per_epoch = (len(data.train_images) - round(0.1 * len(data.train_images))) // 64
    old = json.loads(args.results.with_suffix(".json").read_text()) if args.results.with_suffix(".json").is_file() else {}
    result: dict[str, Any] = {
        "training": f"a supernet over `{SPACE}` at 32 px, batch 64, from `{args.run}`",
        "host": f"{platform.machine()} {cpu_model()}, {os.cpu_count()} cores (shared, noisy), 1 torch thread on core(s) "
        f"{sorted(os.sched_getaffinity(0))}",
        "networks": [{k: row[k] for k in ("net", "sample", "arch", "top1", "macs", "default")} for row in rows],
        "points": old.get("points", []),
    }
    done = {(p["step"], p["val_size"]) for p in result["points"]}
    last_step, last_mtime = max((p["step"] for p in result["points"]), default=0), 0.0
    checkpoint = args.run / "checkpoint.pt"
    while True:
        finished = (args.run / "result.json").is_file() and (args.run / "supernet.pt").is_file()
        if finished:
            summary = json.loads((args.run / "result.json").read_text())
            training = summary["training"]
            result["training"] += f", lr {training['lr']}, sampling {summary['sampling']}, {training['steps']} steps"
            position = {"global_step": training["steps"], "seconds": training["seconds"], "epoch_seconds": 0.0}
            for val in (args.val, args.final_val):
                if (position["global_step"], val) not in done:
                    point = evaluate_point(args.run, position, rows, data=data, val_size=val, per_epoch=per_epoch)
                    result["points"].append(point)
                    bank(args.results, result)
                    print(f"final, val {val}: Spearman {point['ranking']['all']['supernet']['spearman']}", flush=True)
            bank(args.results, result)  # the finished run's settings, even when every point was scored already
            return
        if checkpoint.is_file() and checkpoint.stat().st_mtime != last_mtime:
            last_mtime = checkpoint.stat().st_mtime
            state = torch.load(checkpoint, map_location="cpu", weights_only=True)
            position = state["position"]
            epoch_end = position["step"] == 0 and position["epoch"] > 0
            if (position["global_step"] - last_step >= args.every or epoch_end) and (position["global_step"], args.val) not in done:
                folder, position = snapshot(checkpoint, data=data)
                point = evaluate_point(folder, position, rows, data=data, val_size=args.val, per_epoch=per_epoch)
                result["points"].append(point)
                done.add((point["step"], args.val))
                last_step = point["step"]
                bank(args.results, result)
                s = point["ranking"]["all"]["supernet"]["spearman"]
                print(f"step {point['step']} ({point['epochs']:.2f} ep): Spearman {s[0]:+.3f} [{s[1]:+.3f}, {s[2]:+.3f}]", flush=True)
        time.sleep(args.poll)


if __name__ == "__main__":
    main()
