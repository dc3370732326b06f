"""The int8 drop and the measured latency of the CIFAR-10 networks trained by experiments/train_cifar.py.

    flock /work/logs/timing.lock nice -n 5 taskset -c 1 python -m experiments.deploy_cifar   # every run not banked yet
    ... python -m experiments.deploy_cifar --redo     # export and time every run again, in one session
    python -m experiments.deploy_cifar --report                                              # only rewrite the summary

Question: for each network trained and banked by ``experiments.train_cifar`` (results/train_cifar.json, one
``weights.pt`` per run in ``$NAS_TRAIN_RUNS``), what does the tool's own deploy path, ``nas.export(weights=...,
data=...)`` (= ``nas-export --weights W --data D``), give: fp32 and int8 top-1 on the 10,000 test images and the
drop (goal ≤ 1 point), and the end-to-end onnxruntime latency of both written files on this host (median,
p10–p90, 1 thread) against what the ``cpu`` and ``cpu-int8`` latency tables predict for the network?

Method: the data is the one the runs were trained on (CIFAR-10's JPEG ImageFolder copy from the shared data
folder, unpacked under experiments/cache/cifar10, as experiments.train_cifar reads it). int8 is static QDQ
quantization calibrated on ``--calibration-images`` (default 256) seeded images of the *training* split with
the method ``--calibration-method`` (default: nas-export's, chosen by experiments/int8_calibration.py). Both
top-1 figures are of the written ONNX files, run by onnxruntime; the latency is nas-export's rule (interleaved
rounds of fp32 and int8, 1 thread). It is a timing figure: run it under the timing lock, pinned to one core,
as in the command above; the 1-minute load average before and after the export is banked beside it. Each
finished run is banked in results/deploy_cifar.json (and skipped on rerun); results/deploy_cifar.md is the
summary, regenerated after each run. The export folders go to experiments/cache/deploy_cifar/<key>/.

Result files: experiments/results/deploy_cifar.json, experiments/results/deploy_cifar.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from nas.io import atomic_write_text

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
BANK = RESULTS / "deploy_cifar.json"
TRAIN_BANK = RESULTS / "train_cifar.json"
TRAIN_RUNS = Path(os.environ.get("NAS_TRAIN_RUNS", HERE / "cache" / "train_cifar"))
EXPORTS = HERE / "cache" / "deploy_cifar"
TABLES = ("cpu", "cpu-int8")  # fp32 file against the cpu table, int8 file against the cpu-int8 table
PRECISION_OF_TABLE = {"cpu": "fp32", "cpu-int8": "int8"}


def load_bank() -> dict[str, Any]:
    return json.loads(BANK.read_text()) if BANK.is_file() else {"runs": {}}


def bank_run(key: str, run: dict[str, Any]) -> None:
    bank = load_bank()
    bank["runs"][key] = run
    atomic_write_text(BANK, json.dumps(bank, indent=1) + "\n")


def deploy_key(train_key: str, *, method: str, images: int) -> str:
    return f"{train_key}-{method}{images}"


def predictions(arch_string: str) -> dict[str, dict[str, Any]]:
    """What each committed table predicts for the network (or why it cannot price it)."""
    from nas.arch import ArchSpec
    from nas.exporting.deploy import prediction

    arch = ArchSpec.from_string(arch_string)
    return {device: prediction(device, arch) for device in TABLES}


def deploy_one(train_key: str, train_run: dict[str, Any], weights: Path, *, data_spec: str, args: argparse.Namespace) -> dict[str, Any]:
    """One ``nas.export(weights=..., data=...)`` run and what it measured, with the tables' predictions beside it."""
    from nas.api import export

    out = EXPORTS / deploy_key(train_key, method=args.calibration_method, images=args.calibration_images)
    load_before = os.getloadavg()[0]
    started = time.time()
    export(
        weights=weights,
        data=data_spec,
        out=out,
        calibration_images=args.calibration_images,
        calibration_method=args.calibration_method,
        eval_images=args.eval_images,
        device="cpu",
    )
    seconds = time.time() - started
    load_after = os.getloadavg()[0]
    record = json.loads((out / "export.json").read_text())
    measured = record["latency"]["measured"]
    predicted = predictions(train_run["arch"])
    versus = {}
    for device, entry in predicted.items():
        ms = entry.get("latency_ms")
        precision = PRECISION_OF_TABLE[device]
        versus[device] = {
            "precision": precision,
            "predicted_ms": ms,
            "measured_median_ms": measured[precision]["median_ms"],
            "measured_over_predicted": None if ms is None else measured[precision]["median_ms"] / ms,
            "why_not": entry.get("why_not"),
        }
    return {
        "net": train_run["net"],
        "seed": train_run["seed"],
        "train_key": train_key,
        "arch": train_run["arch"],
        "weights": str(weights),
        "torch_test_top1": train_run["test_top1"],  # nas.train's own test figure, for comparison with the ONNX file's
        "accuracy": record["accuracy"],
        "int8_calibration": record["int8_calibration"],
        "latency": record["latency"],
        "tables": versus,
        "loadavg_1min": {"before": load_before, "after": load_after},
        "export_seconds": round(seconds, 1),
        "data": data_spec,
        "command": " ".join(["python", "-m", "experiments.deploy_cifar", *sys.argv[1:]]),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _mean_std(values: list[float], digits: int = 2) -> str:
    if not values:
        return "–"
    text = f"{statistics.mean(values):.{digits}f}"
    return text + (f" ± {statistics.stdev(values):.{digits}f}" if len(values) > 1 else "")


def _span(values: list[float]) -> str:
    """Latency over seeds as the lowest–highest median: the seeds share one architecture, so their spread is the host's noise."""
    return f"{min(values):.3f}" if len(set(values)) == 1 else f"{min(values):.3f}–{max(values):.3f}"


def _ms(entry: dict[str, Any]) -> str:
    return f"{entry['median_ms']:.3f} ({entry['p10_ms']:.3f}–{entry['p90_ms']:.3f})"


def _table_ms(entry: dict[str, Any]) -> str:
    if entry["predicted_ms"] is None:
        return "not priced"
    return f"{entry['predicted_ms']:.3f} (×{entry['measured_over_predicted']:.2f})"


def report() -> None:
    """results/deploy_cifar.md: one row per deployed run, then per network mean ± std over the seeds."""
    runs = sorted(load_bank()["runs"].values(), key=lambda r: (r["net"], r["seed"]))
    lines = [
        "# CIFAR-10: int8 drop and measured latency of the networks trained by experiments.train_cifar",
        "",
        "From `flock /work/logs/timing.lock nice -n 5 taskset -c 1 python -m experiments.deploy_cifar` (see its docstring):",
        "`nas.export(weights=..., data=...)` per banked run. Top-1 (%) of the written ONNX files on the test split;",
        "latency in ms, median (p10–p90) on this host, onnxruntime CPU, 1 thread; table = the committed `cpu` (fp32) and",
        "`cpu-int8` tables' prediction, ×measured/predicted.",
        "",
        f"These runs: `{'`, `'.join(sorted({r['command'] for r in runs}))}`, finished "
        f"{min((r['finished'] for r in runs), default='–')} to {max((r['finished'] for r in runs), default='–')}.",
        "",
        "| network | seed | torch top-1 | fp32 top-1 | int8 top-1 | drop | calibration | fp32 ms | cpu table | int8 ms | cpu-int8 table | load 1 min | host |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for run in runs:
        acc, cal, lat = run["accuracy"], run["int8_calibration"], run["latency"]
        host = lat["host"]
        lines.append(
            f"| {run['net']} | {run['seed']} | {run['torch_test_top1']:.2f} | {acc['fp32_top1']:.2f} | {acc['int8_top1']:.2f} "
            f"| {acc['drop_points']:.2f} | {cal['method']}, {cal['images']} train images | {_ms(lat['measured']['fp32'])} "
            f"| {_table_ms(run['tables']['cpu'])} | {_ms(lat['measured']['int8'])} | {_table_ms(run['tables']['cpu-int8'])} "
            f"| {run['loadavg_1min']['before']:.2f} → {run['loadavg_1min']['after']:.2f} "
            f"| {host['model_name']}, {host['cpus']} CPU(s), ORT {host['runtime_version']} |"
        )
    lines += [
        "",
        "Per network, mean ± std (sample std) over the deployed seeds. The seeds of one network share its architecture, so",
        "their latencies are repeated measurements of one thing: their lowest–highest median shows this shared host's noise",
        "(a run with a wide p10–p90 above was timed in a noisy spell).",
        "",
        "| network | seeds | fp32 top-1 | int8 top-1 | int8 drop (points) | fp32 ms, runs' medians | int8 ms, runs' medians |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for net in sorted({r["net"] for r in runs}):
        group = [r for r in runs if r["net"] == net]
        lines.append(
            f"| {net} | {', '.join(str(r['seed']) for r in group)} "
            f"| {_mean_std([r['accuracy']['fp32_top1'] for r in group])} | {_mean_std([r['accuracy']['int8_top1'] for r in group])} "
            f"| {_mean_std([r['accuracy']['drop_points'] for r in group])} "
            f"| {_span([r['latency']['measured']['fp32']['median_ms'] for r in group])} "
            f"| {_span([r['latency']['measured']['int8']['median_ms'] for r in group])} |"
        )
    unpriced = sorted({d for r in runs for d, t in r["tables"].items() if t["predicted_ms"] is None})
    if unpriced:
        lines += [
            "",
            f"Not priced by the committed table(s) {', '.join(unpriced)}: "
            + next(t["why_not"] for r in runs for d, t in r["tables"].items() if t["predicted_ms"] is None),
        ]
    atomic_write_text(RESULTS / "deploy_cifar.md", "\n".join(lines) + "\n")


def main() -> None:
    from nas.exporting.deploy import DEFAULT_CALIBRATION_IMAGES, DEFAULT_METHOD

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-bank", type=Path, default=TRAIN_BANK, help="experiments.train_cifar's bank to read")
    parser.add_argument("--runs", type=Path, default=TRAIN_RUNS, help="its run folders (default $NAS_TRAIN_RUNS)")
    parser.add_argument("--calibration-images", type=int, default=DEFAULT_CALIBRATION_IMAGES)
    parser.add_argument("--calibration-method", default=DEFAULT_METHOD)
    parser.add_argument("--eval-images", type=int, default=None, help="a seeded test subset (default: all 10,000)")
    parser.add_argument("--redo", action="store_true", help="export and time banked runs again (all runs timed in one session)")
    parser.add_argument("--report", action="store_true", help="only rewrite deploy_cifar.md from the bank")
    args = parser.parse_args()
    if args.report:
        report()
        return
    if not args.train_bank.is_file():
        raise SystemExit(f"{args.train_bank}: no bank of experiments.train_cifar (run it first, or pass --train-bank)")
    trained = json.loads(args.train_bank.read_text())["runs"]
    data_spec = None
    for train_key, train_run in sorted(trained.items()):
        key = deploy_key(train_key, method=args.calibration_method, images=args.calibration_images)
        if key in load_bank()["runs"] and not args.redo:
            print(f"{key}: banked, skipped", flush=True)
            continue
        weights = args.runs / train_key / "weights.pt"
        if not weights.is_file():
            print(f"{key}: {weights} is not there (the run is banked elsewhere or not finished): skipped", flush=True)
            continue
        if data_spec is None:
            from experiments._lib.data import CACHE, cifar10

            cifar10()  # unpacks the shared JPEG copy once and sets NAS_CACHE, so nas.export's load reuses its decoded arrays
            data_spec = f"imagefolder:{CACHE / 'cifar10'}"
        print(f"{key}: exporting {weights}", flush=True)
        run = deploy_one(train_key, train_run, weights, data_spec=data_spec, args=args)
        bank_run(key, run)
        report()
        acc = run["accuracy"]
        print(f"{key}: fp32 {acc['fp32_top1']:.2f} %, int8 {acc['int8_top1']:.2f} % (drop {acc['drop_points']:.2f})", flush=True)


if __name__ == "__main__":
    main()
