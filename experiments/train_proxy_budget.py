"""The short-training proxy at several budgets: rank correlation with trained accuracy, what a pruner sees, and cost.

    taskset -c 0 python -m experiments.train_proxy_budget       # ~1.2 CPU h from scratch; banked runs are reused

NAS-Bench-Macro: the ``train`` proxy scores the first 30 networks of experiments/proxy_correlation.py's seed-0
sample at each budget ``STEPS:PX:VAL`` (SGD steps of batch 64, input size, validation images). Each network's
final accuracy is ranked against the benchmark's ``mean_acc`` (full training, mean of 3 seeds); so is each
intermediate accuracy the proxy hands to an Optuna pruner, which shows whether stopping at a quarter or half of
the budget would keep the right networks.

Band: no training. The CIFAR experiment's own trainer at 0.51 epoch (400 steps of batch 64 at 32 px, banked in
results/proxy_generalisation_runs.json) ranked against the 3-epoch truth of the same 24 equal-latency networks
(results/cpu_band_lr01/), next to the zero-cost proxies on that truth.

Every run is banked in results/train_proxy_budget_runs.json as it ends, so a killed run loses one network.
Writes results/train_proxy_budget.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np
import torch
from scipy import stats
from tqdm import tqdm

from nas.io import atomic_write_text
from nas.proxies.train import TrainProxy

HERE = Path(__file__).resolve().parent

RESULTS = HERE / "results"
BANK = RESULTS / "train_proxy_budget_runs.json"
BAND_SHORT = RESULTS / "proxy_generalisation_runs.json"  # 0.51-epoch runs of the band networks (named random-N)
BAND_LONG = RESULTS / "cifar_gpu_lr01.json"  # 3-epoch truth of the same networks (named band-N)
DEFAULT_BUDGETS = ("160:16:500", "150:32:1000")  # the earlier figure, and the proxy's own default budget


def parse_budget(text: str) -> TrainProxy:
    try:
        steps, px, val = (int(part) for part in text.split(":"))
    except ValueError:
        raise SystemExit(f"--budgets: {text!r} is not STEPS:PX:VAL, e.g. 400:32:2000") from None
    return TrainProxy(steps=steps, resolution=px, val_size=val, eval_every=max(1, steps // 4), device="cpu")


def train_scores(proxy: TrainProxy, archs: dict, data, *, seed: int) -> dict[str, dict]:
    """Score every network with ``proxy``, reusing and extending the bank (one atomic write per network)."""
    bank = json.loads(BANK.read_text()) if BANK.exists() else {}
    entry = bank.setdefault(f"{proxy.budget()}, seed {seed}", {})
    for key in tqdm([k for k in archs if k not in entry], desc=f"train {proxy.steps} steps at {proxy.resolution}px", unit="net"):
        curve: list[list[float]] = []
        cpu = time.process_time()
        result = proxy.evaluate(archs[key], seed=seed, data=data, report=lambda step, acc: curve.append([step, acc]) or False)
        entry[key] = {"top1": result.score, "seconds": result.seconds, "cpu_seconds": time.process_time() - cpu, "curve": curve}
        atomic_write_text(BANK, json.dumps(bank, indent=1))
    return {key: entry[key] for key in archs}


def correlations(scores: list[float], truth: list[float]) -> dict[str, float]:
    return {"spearman": float(stats.spearmanr(scores, truth)[0]), "kendall": float(stats.kendalltau(scores, truth)[0])}


def summarise(proxy: TrainProxy, runs: dict[str, dict], truth: dict[str, float]) -> dict:
    keys = list(runs)
    steps = [int(step) for step, _ in runs[keys[0]]["curve"]]
    return {
        "budget": proxy.budget(),
        "n": len(keys),
        **correlations([runs[k]["top1"] for k in keys], [truth[k] for k in keys]),
        "at_step": {
            step: correlations([runs[k]["curve"][i][1] for k in keys], [truth[k] for k in keys])["spearman"] for i, step in enumerate(steps)
        },
        "top1_range": [float(min(runs[k]["top1"] for k in keys)), float(max(runs[k]["top1"] for k in keys))],
        "seconds_median": float(np.median([runs[k]["seconds"] for k in keys])),
        "cpu_seconds_median": float(np.median([runs[k]["cpu_seconds"] for k in keys])),
        "cpu_seconds_range": [float(min(runs[k]["cpu_seconds"] for k in keys)), float(max(runs[k]["cpu_seconds"] for k in keys))],
        "cpu_hours_total": float(sum(runs[k]["cpu_seconds"] for k in keys) / 3600),
    }


def band_comparison() -> dict | None:
    """Half an epoch of the CIFAR experiment's trainer against the 3-epoch truth, on the 24 band networks."""
    if not (BAND_SHORT.exists() and BAND_LONG.exists()):
        return None
    short: dict[str, list[float]] = {}
    seconds = []
    for run in json.loads(BAND_SHORT.read_text()):
        short.setdefault(run["net"].replace("random-", "band-"), []).append(run["top1"])
        seconds.append(run["train_s"])
    band = json.loads(BAND_LONG.read_text())["band"]
    rows = [row for row in band["rows"] if row["net"] in short]
    truth = [row["top1"] for row in rows]
    zero_cost = {
        name: correlations([row[f"proxy_{name}"] for row in rows], truth)["spearman"] for name in ("default", "naswot", "macs", "depth")
    }
    return {
        "n": len(rows),
        "truth": f"3 epochs, peak lr 0.1, mean of seeds {band['ranked_seeds']}",
        "short": "0.51 epoch (400 steps of batch 64 at 32 px, peak lr 0.05)",
        "mean_of_2_runs": correlations([float(np.mean(short[row["net"]])) for row in rows], truth),
        "one_run": [correlations([short[row["net"]][i] for row in rows], truth)["spearman"] for i in range(2)],
        "train_seconds_median": float(np.median(seconds)),
        "zero_cost": zero_cost,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", nargs="+", default=list(DEFAULT_BUDGETS), help="STEPS:PX:VAL each (default: %(default)s)")
    parser.add_argument("--n", type=int, default=30, help="networks (the first N of proxy_correlation.py's sample)")
    args = parser.parse_args()
    proxies = [parse_budget(text) for text in args.budgets]
    torch.set_num_threads(1)

    from experiments._lib.data import cifar10, load_bench
    from nas.space import get_space

    bench = load_bench()
    keys = random.Random(0).sample(sorted(bench), 500)[: args.n]  # proxy_correlation.py's sample, seed 0
    space = get_space("nas_bench_macro")
    archs = {k: space.arch(dict(zip(space.parameters, k)), name=f"macro-{k}") for k in keys}
    truth = {k: bench[k]["mean_acc"] for k in keys}
    data = cifar10()
    result = {
        "benchmark": "NAS-Bench-Macro CIFAR-10 mean_acc",
        "torch": torch.__version__,
        "budgets": [summarise(proxy, train_scores(proxy, archs, data, seed=0), truth) for proxy in proxies],
        "band": band_comparison(),
    }
    atomic_write_text(RESULTS / "train_proxy_budget.json", json.dumps(result, indent=1))
    atomic_write_text(RESULTS / "train_proxy_budget.md", markdown(result))
    print(markdown(result))


def markdown(result: dict) -> str:
    lines = [
        "Short-training proxy `train` on NAS-Bench-Macro (experiments/train_proxy_budget.py): Spearman of its accuracy with "
        "`mean_acc`, at the end and at each accuracy it reports to a pruner; CPU seconds per network on one thread.",
        "",
        "| budget | n | Spearman | Kendall | Spearman of the accuracy reported at step … | top-1 range | CPU s / net (median, range) | CPU h in all |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for entry in result["budgets"]:
        at_step = ", ".join(f"{step}: {rho:+.2f}" for step, rho in entry["at_step"].items())
        (lo, hi), (clo, chi) = entry["top1_range"], entry["cpu_seconds_range"]
        lines.append(
            f"| {entry['budget']} | {entry['n']} | {entry['spearman']:+.3f} | {entry['kendall']:+.3f} | {at_step} | "
            f"{lo:.3f} … {hi:.3f} | {entry['cpu_seconds_median']:.0f} ({clo:.0f} … {chi:.0f}) | {entry['cpu_hours_total']:.2f} |"
        )
    band = result.get("band")
    if band:
        zero = ", ".join(f"{name} {rho:+.2f}" for name, rho in band["zero_cost"].items())
        lines += [
            "",
            f"Band ({band['n']} random `mobiledet_cifar` networks of equal cpu latency; truth: {band['truth']}): "
            f"the CIFAR experiment's trainer at {band['short']} ranks them at Spearman {band['mean_of_2_runs']['spearman']:+.2f} "
            f"(mean of 2 runs; one run {band['one_run'][0]:+.2f} / {band['one_run'][1]:+.2f}) at a median "
            f"{band['train_seconds_median']:.0f} s per run on one thread. Zero-cost proxies on the same truth: {zero}.",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
