"""MobileNetV2-CIFAR α 0.35 against the cpu-found network of the CIFAR study, both trained by ``nas.train``.

    python -m experiments.train_cifar                       # every net × seed not banked yet (hours on this CPU)
    python -m experiments.train_cifar --epochs 1 --seeds 0  # one short run
    python -m experiments.train_cifar --report              # only rewrite the summary from the banked runs

Question: trained with the package's own trainer and recipe (``nas.training``: SGD + Nesterov, warm-up +
cosine, label smoothing 0.1, no weight decay on BatchNorm and biases, pad-4 crop + flip), what top-1 do
MobileNetV2-CIFAR α 0.35 and the cpu-found network (``cpu-0.35`` of experiments/results/cifar_search.json,
found by ``nas-search --device cpu`` at MobileNetV2-0.35's table latency) reach on CIFAR-10, mean ± std
over seeds, at the same schedule?

Method: both architectures are taken verbatim from results/cifar_search.json; each (network, seed) is one
``nas.train`` run on the 50,000 training images (10% held out for validation, seeded) at 32 px, tested once
on the 10,000 test images. Runs go one after another in ``$NAS_TRAIN_RUNS`` (default
experiments/cache/train_cifar/<key>/, a nas-train folder): killing the script loses at most
``--checkpoint-minutes`` of training, and rerunning the same command resumes the interrupted run. Every
finished run is banked in results/train_cifar.json (and skipped on rerun); results/train_cifar.md is the
summary, regenerated after each run.

Result files: experiments/results/train_cifar.json, experiments/results/train_cifar.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from dataclasses import replace
from pathlib import Path

from nas import ArchSpec
from nas.io import atomic_write_text

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
BANK = RESULTS / "train_cifar.json"
RUNS = Path(os.environ.get("NAS_TRAIN_RUNS", HERE / "cache" / "train_cifar"))
NETS = {"MobileNetV2-0.35": "MobileNetV2-0.35", "cpu-0.35": "cpu-0.35"}  # name here → row of cifar_search.json


def architectures() -> dict[str, ArchSpec]:
    rows = {row["net"]: row for row in json.loads((RESULTS / "cifar_search.json").read_text())["rows"]}
    return {name: ArchSpec.from_string(rows[row]["arch"], name=name) for name, row in NETS.items()}


def run_key(net: str, args: argparse.Namespace, seed: int) -> str:
    return f"{net}-e{args.epochs}-b{args.batch}-lr{args.lr:g}-seed{seed}"


def load_bank() -> dict:
    return json.loads(BANK.read_text()) if BANK.is_file() else {"runs": {}}


def bank_run(key: str, run: dict) -> None:
    bank = load_bank()
    bank["runs"][key] = run
    atomic_write_text(BANK, json.dumps(bank, indent=1) + "\n")


def report() -> None:
    """results/train_cifar.md: per network and schedule, top-1 mean ± std over the banked seeds."""
    runs = load_bank()["runs"].values()
    groups: dict[tuple[str, int, int, float], list[dict]] = {}
    for run in runs:
        groups.setdefault((run["net"], run["epochs"], run["batch"], run["lr"]), []).append(run)
    lines = [
        "# CIFAR-10: MobileNetV2-0.35 vs the cpu-found network, trained by nas.train",
        "",
        "From `python -m experiments.train_cifar` (see its docstring). Test top-1 on the 10,000 test images;",
        "validation top-1 on the 5,000 training images held out (seeded). Std is the sample std over seeds.",
        "",
        "| network | epochs | batch | lr | seeds | test top-1 % | test top-5 % | val top-1 % | train time per run | host |",
        "| --- | ---: | ---: | ---: | --- | --- | --- | --- | --- | --- |",
    ]
    for (net, epochs, batch, lr), group in sorted(groups.items()):
        top1 = [r["test_top1"] for r in group]
        top5 = [r["test_top5"] for r in group]
        val = [r["final_val_top1"] for r in group]
        std = f" ± {statistics.stdev(top1):.2f}" if len(top1) > 1 else ""
        hosts = sorted({r["host"] for r in group})
        lines.append(
            f"| {net} | {epochs} | {batch} | {lr:g} | {', '.join(str(r['seed']) for r in sorted(group, key=lambda r: r['seed']))} "
            f"| {statistics.mean(top1):.2f}{std} | {statistics.mean(top5):.2f} | {statistics.mean(val):.2f} "
            f"| {statistics.median(r['train_seconds'] for r in group) / 60:.0f} min (median) | {'; '.join(hosts)} |"
        )
    atomic_write_text(RESULTS / "train_cifar.md", "\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--nets", nargs="+", default=list(NETS), choices=list(NETS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--checkpoint-minutes", type=float, default=3.0)
    parser.add_argument("--report", action="store_true", help="only rewrite train_cifar.md from the bank")
    args = parser.parse_args()
    if args.report:
        report()
        return
    from nas.api import train
    from experiments._lib.data import cifar10

    data = None
    nets = architectures()
    for seed in args.seeds:  # seed-major: both networks get seed 0 before either gets seed 1
        for net in args.nets:
            key = run_key(net, args, seed)
            if key in load_bank()["runs"]:
                print(f"{key}: banked, skipped", flush=True)
                continue
            if data is None:
                data = replace(cifar10(), name="cifar10")  # a stable name: the run folder's identity must not name a path
            print(f"{key}: training (resumes {RUNS / key} if it holds a part)", flush=True)
            started = time.time()
            result = train(
                nets[net],
                data=data,
                out=RUNS / key,
                epochs=args.epochs,
                batch_size=args.batch,
                lr=args.lr,
                seed=seed,
                threads=args.threads,
                checkpoint_minutes=args.checkpoint_minutes,
                progress=False,
            )
            host = result.summary["host"]
            bank_run(
                key,
                {
                    "net": net,
                    "arch": nets[net].to_string(),
                    "seed": seed,
                    "epochs": args.epochs,
                    "batch": args.batch,
                    "lr": args.lr,
                    "test_top1": result.test_top1,
                    "test_top5": result.test_top5,
                    "final_val_top1": result.summary["final_val_top1"],
                    "train_seconds": result.summary["train_seconds"],
                    "history": result.history,
                    "settings": result.summary["settings"],
                    "host": f"{host['model_name']}, {host['cpus']} CPUs, torch {host['runtime_version']}, {args.threads} thread(s)",
                    "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "wall_seconds_last_call": round(time.time() - started, 1),
                },
            )
            report()
            print(f"{key}: test top-1 {result.test_top1:.2f}%", flush=True)


if __name__ == "__main__":
    main()
