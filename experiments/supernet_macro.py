"""A supernet trained on NAS-Bench-Macro's space ranks the benchmark's networks how well?

    taskset -c 0 python -m experiments.supernet_macro --rule spos --epochs 5 --half A \\
        --out experiments/cache/supernet_macro_spos --stem supernet_macro_spos_A          # ~25 min + ~5 min scoring

One supernet over ``nas_bench_macro`` at ``--resolution`` (32 px, the benchmark's) is trained by
``nas.train_supernet`` (the package's one training loop: SGD with Nesterov momentum 0.9, weight decay 5e-4 on
weights only, ``--lr`` peak after a ``--warmup-epochs`` linear warm-up then cosine, per step; pad-and-crop + flip;
no label smoothing) with a sampling rule of ``nas.supernet.sampling`` (``spos`` or ``sandwich``) for ``--epochs``
epochs on CIFAR-10's training images minus a 10 % validation split (``nas.proxies.data.holdout``, seed
``--seed``). Its folder (``--out``) holds the checkpoints, so a killed run resumes with the same command, and a
finished one is reused.

The networks: experiments/proxy_correlation.py's seeded draw of ``--n`` distinct benchmark networks and its halves
(A the first n/2, B the rest; ``experiments._lib.macro_scores.draw``). Every setting is tuned on half A; half B is
read once, for the chosen setting (``--half B``). The zero-cost default's ensemble was fitted on the same half A,
so half B is held out for every signal in the table. ``--half`` is scored with the ``supernet`` proxy (weights
inherited, BN recalibrated on training batches, top-1 on the validation split held out of the training images;
the CIFAR-10 test split is never used) and with the zero-cost default (data-free, as a search without data), and
ranked against the benchmark's 50-epoch ``mean_acc`` beside FLOPs (the benchmark's ``flops``) and the seed-to-seed
ceiling, with 90 % bootstrap intervals. Scores are cached per key beside the supernet folder
(``OUT.scores.json``; experiments/supernet_regret.py reads the same cache). Writes ``--results``/STEM.{md,json}.

The first, short run (results/supernet_macro_run1.md: SPOS, 1.9 epochs at 16 px) came from this script's earlier,
time-budgeted loop; that loop is gone, so its figures are not reproducible with this version's command line.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from experiments._lib.data import cifar10, load_bench
from experiments._lib.macro_scores import ScoreCache, arch_of, ceiling, draw, fmt, rank
import nas
from nas.io import atomic_write_text
from nas.proxies import DEFAULT_PROXY, get_proxy
from nas.proxies.data import ImageData, holdout
from nas.space import get_space

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def train(args: argparse.Namespace, data: ImageData) -> dict:
    """Train (or resume, or return the finished) supernet of ``--out``; its settings and training time."""
    space = get_space("nas_bench_macro", resolution=args.resolution)
    options = {"random_paths": args.random_paths} if args.rule == "sandwich" else {}
    trained = nas.train_supernet(
        space,
        data=data,
        out=args.out,
        rule=args.rule,
        epochs=args.epochs,
        batch_size=args.batch,
        lr=args.lr,
        warmup_epochs=args.warmup_epochs,
        seed=args.seed,
        threads=1,
        **options,
    )
    training = trained.summary["training"]
    curve = [json.loads(line) for line in (args.out / "metrics.jsonl").read_text().splitlines()]
    return {
        "rule": args.rule,
        **options,
        "epochs": args.epochs,
        "warmup_epochs": args.warmup_epochs,
        "resolution": args.resolution,
        "batch": args.batch,
        "lr": args.lr,
        "seed": args.seed,
        "steps": training["steps"],
        "seconds": training["seconds"],
        "train_images": len(holdout(data, fraction=0.1, seed=args.seed).train_images),
        "curve": [{k: row.get(k) for k in ("epoch", "loss", "val_top1", "val_top1_smallest", "seconds")} for row in curve],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rule", default="spos", choices=["spos", "sandwich"])
    parser.add_argument("--random-paths", type=int, default=2, help="sandwich: random paths per step besides largest and smallest")
    parser.add_argument("--epochs", type=int, default=5, help="supernet training epochs")
    parser.add_argument("--warmup-epochs", type=float, default=0.25, help="linear warm-up before the cosine (≤ --epochs)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--resolution", type=int, default=32, help="input size of training and scoring (the benchmark trained at 32)")
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--n", type=int, default=500, help="distinct benchmark networks drawn (halves A and B of n/2)")
    parser.add_argument("--half", default="A", choices=["A", "B", "all"], help="which half to score (tune on A; read B once)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--val-size", type=int, default=None, help="validation images per score [the proxy's 500]; cache OUT.scores.valN.json"
    )
    parser.add_argument("--out", type=Path, default=HERE / "cache" / "supernet_macro", help="the supernet's folder (resumable)")
    parser.add_argument("--stem", default="supernet_macro", help="results/STEM.{md,json}")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where STEM.{md,json} are written")
    parser.add_argument("--report", nargs="+", metavar="STEM", help="write results/supernet_macro.{md,json} from these runs and stop")
    args = parser.parse_args()
    if args.report:
        report(args.report, args.results)
        return
    torch.set_num_threads(1)

    data = cifar10()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    training = train(args, data)
    bench = load_bench()
    keys, half_a, half_b = draw(bench, n=args.n, seed=0)
    chosen = {"A": half_a, "B": half_b, "all": keys}[args.half]
    space = get_space("nas_bench_macro", resolution=args.resolution)
    proxy = get_proxy("supernet", supernet=str(args.out))
    suffix = ""
    if args.val_size is not None:
        proxy.val_size, suffix = args.val_size, f".val{args.val_size}"
    proxy.prepare(space=space, data=data)
    supernet_cache = ScoreCache(args.out.parent / f"{args.out.name}.scores{suffix}.json")
    default = get_proxy(DEFAULT_PROXY)
    default_cache = ScoreCache(HERE / "cache" / "macro_default.scores.json")
    for number, key in enumerate(chosen):
        arch = arch_of(space, key)
        score = supernet_cache.get(key, lambda: proxy.score(arch, seed=0, data=data))
        default_cache.get(key, lambda: default.score(arch, seed=0, data=None))  # data-free, as a search without --data
        if number % 25 == 0:
            print(f"scored {number + 1}/{len(chosen)}: supernet {score:.3f}", flush=True)
    supernet_cache.flush()
    default_cache.flush()

    truth = [bench[k]["mean_acc"] for k in chosen]
    columns = {
        "supernet": [supernet_cache.scores[k]["score"] for k in chosen],
        f"zero-cost default ({DEFAULT_PROXY})": [default_cache.scores[k]["score"] for k in chosen],
        "FLOPs": [float(bench[k]["flops"]) for k in chosen],
    }
    table = {name: rank(values, truth) for name, values in columns.items()}
    seconds = [supernet_cache.scores[k]["seconds"] for k in chosen]
    cpu_seconds = [supernet_cache.scores[k]["cpu_seconds"] for k in chosen]
    load = open("/proc/loadavg").read().split()[0]
    host = f"{platform.processor() or platform.machine()}, 2-core AMD EPYC KVM, 1 torch thread, load average {load} at the end"
    summary = {
        "half": args.half,
        "n": len(chosen),
        "training": training,
        "ranking": table,
        "ceiling": ceiling(bench, chosen),
        "proxy": {
            "budget": proxy.budget(),
            "median_s": float(np.median(seconds)),
            "range_s": [float(min(seconds)), float(max(seconds))],
            "median_cpu_s": float(np.median(cpu_seconds)),
        },
        "host": host,
        "started": started,
        "command": "python -m experiments.supernet_macro " + " ".join(sys.argv[1:]),
        "rows": [
            {"key": k, "mean_acc": bench[k]["mean_acc"], "flops": bench[k]["flops"], **{c: v[i] for c, v in columns.items()}}
            for i, k in enumerate(chosen)
        ],
    }
    args.results.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.results / f"{args.stem}.json", json.dumps(summary, indent=1) + "\n")
    curve = [f"{row['val_top1']:.3f}" for row in training["curve"] if row.get("val_top1") is not None]
    lines = [
        f"# Supernet on NAS-Bench-Macro: half {args.half} ({len(chosen)} networks)",
        "",
        f"`{summary['command']}` ({started}). Supernet: {args.rule} by `nas.train_supernet`, {args.epochs} epochs = "
        f"{training['steps']} steps of {args.batch} of the {training['train_images']:,} training images, "
        f"{training['seconds'] / 60:.1f} min, {args.resolution} px, lr {args.lr}. Truth: the benchmark's 50-epoch `mean_acc`; "
        "90 % bootstrap intervals.",
        "",
        "| signal | Spearman | Kendall |",
        "| --- | --- | --- |",
        *(f"| {name} | {fmt(cells['spearman'])} | {fmt(cells['kendall'])} |" for name, cells in table.items()),
        f"| seed-to-seed ceiling | {summary['ceiling']['spearman']:.3f} | {summary['ceiling']['kendall']:.3f} |",
        "",
        "Largest path's validation top-1 (shared BatchNorm statistics) by epoch: " + ", ".join(curve) + ".",
        "",
        f"Proxy cost per candidate ({proxy.budget()}): median {np.median(seconds):.2f} s, range {min(seconds):.2f}–{max(seconds):.2f} s "
        f"wall clock (median {np.median(cpu_seconds):.2f} s CPU), {host}.",
        "",
    ]
    atomic_write_text(args.results / f"{args.stem}.md", "\n".join(lines))
    print("\n".join(lines))


def report(stems: list[str], results: Path) -> None:
    """results/supernet_macro.{md,json}: the runs STEMS (each a results/STEM.json of this script) side by side."""
    runs = {stem: json.loads((results / f"{stem}.json").read_text()) for stem in stems}
    lines = [
        "# Supernet on NAS-Bench-Macro: SPOS vs sandwich on half A, the chosen rule on half B",
        "",
        "Written by `python -m experiments.supernet_macro --report " + " ".join(stems) + "` from the runs below "
        "(each `results/STEM.{md,json}`, its command in it). Networks: experiments/proxy_correlation.py's seeded draw of "
        "500 distinct NAS-Bench-Macro networks, half A its first 250, half B the other 250 (the zero-cost default's "
        "ensemble was fitted on the same half A). Every choice (the rule) was made on half A; half B was scored once, "
        "for the chosen rule. Truth: the benchmark's 50-epoch `mean_acc`; 90 % bootstrap intervals (1,000 resamples of "
        "the networks). Seed-to-seed ceiling: one training seed's `test_acc` against another's, as in "
        "results/proxy_correlation.md (0.983 on its half B).",
        "",
        "| run | half (n) | rule | training | supernet Spearman | supernet Kendall | zero-cost default Spearman | FLOPs Spearman | ceiling |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for stem, run in runs.items():
        t, table = run["training"], run["ranking"]
        default = next(v for k, v in table.items() if k.startswith("zero-cost"))
        lines.append(
            f"| {stem} | {run['half']} ({run['n']}) | {t['rule']} | {t['epochs']} epochs = {t['steps']} steps of {t['batch']}, "
            f"{t['seconds'] / 60:.1f} min, {t['resolution']} px | {fmt(table['supernet']['spearman'])} | "
            f"{fmt(table['supernet']['kendall'])} | {fmt(default['spearman'])} | {fmt(table['FLOPs']['spearman'])} | "
            f"{run['ceiling']['spearman']:.3f} |"
        )
    lines += ["", "Largest path's validation top-1 by epoch (shared BatchNorm statistics) and proxy cost per candidate:", ""]
    for stem, run in runs.items():
        curve = ", ".join(f"{row['val_top1']:.3f}" for row in run["training"]["curve"] if row.get("val_top1") is not None)
        cost = run["proxy"]
        lines.append(
            f"- {stem}: {curve}; proxy ({cost['budget']}) median {cost['median_s']:.2f} s wall ({cost['median_cpu_s']:.2f} s CPU), "
            f"range {cost['range_s'][0]:.2f}–{cost['range_s'][1]:.2f} s; {run['host']}; started {run['started']}."
        )
    summary = {stem: {k: v for k, v in run.items() if k != "rows"} for stem, run in runs.items()}
    atomic_write_text(results / "supernet_macro.json", json.dumps(summary, indent=1) + "\n")
    atomic_write_text(results / "supernet_macro.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
