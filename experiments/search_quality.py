"""Search quality at the main job's settings: what each sampler finds in ``nas-search --device dsp``'s 200 trials.

For nsga2 at population sizes 50 (Optuna's default), 20 (the framework's default for 200 trials:
about ten generations) and 10, tpe and random, 3 seeds each, on mobiledet at 224 px with the DSP
table and the default proxy, two numbers:

* the best proxy among trials within the budget the report uses (MobileNetV2-1.0's table latency),
  minus the best MobileNetV2-α reference within it: > 0 means the chosen network beats every
  reference on the proxy, which is what ``report.md`` checks;
* the hypervolume of the front (proxy ↑, latency ↓), on objectives normalised to [0, 1] by the range
  over all runs, against the reference point (worst proxy, worst latency) of all runs.

Trials are recorded in an Optuna journal file. About 10 min on one core.
Run: taskset -c 0 python experiments/search_quality.py [--device dsp] [--trials 200] [--proxy default]
(writes experiments/results/search_quality_<device>_<proxy>.{json,md})
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import optuna
import torch

from nas.io import atomic_write_text
from nas.proxies import DEFAULT_PROXY
from nas.study import SearchContext, hypervolume, records, run_trials

RESULTS = Path(__file__).resolve().parent / "results"
CONFIGS = {  # label → (sampler, NSGA-II population)
    "nsga2, population 50": ("nsga2", 50),
    "nsga2, population 20": ("nsga2", 20),
    "nsga2, population 10": ("nsga2", 10),
    "tpe": ("tpe", None),
    "random": ("random", None),
}
SEEDS = (0, 1, 2)


def run(config: str, seed: int, args: argparse.Namespace) -> dict:
    sampler, population = CONFIGS[config]
    with tempfile.TemporaryDirectory() as folder:
        context = SearchContext.create(
            device=args.device,
            proxy=args.proxy,
            sampler=sampler,
            population=population,
            trials=args.trials,
            seed=seed,
            out=folder,
            storage=f"{folder}/study.journal",
        )
        start = time.perf_counter()
        run_trials(context, progress=False)
        seconds = time.perf_counter() - start
        rows = [r for r in records(context.open_study()) if r.complete]
        refs = context.references()
    budget = max(r.latency_ms for r in refs)  # MobileNetV2-1.0, the report's budget without --latency-target
    best = max((r.proxy for r in rows if r.latency_ms <= budget), default=float("nan"))
    return {
        "config": config,
        "seed": seed,
        "points": [(r.proxy, r.latency_ms) for r in rows],
        "seconds": round(seconds, 1),
        "budget_ms": budget,
        "best_within_budget": best,
        "best_reference": max(r.proxy for r in refs),
        "margin": best - max(r.proxy for r in refs),
    }


def main() -> None:
    from tqdm import tqdm

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="dsp")
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--proxy", default=DEFAULT_PROXY, help=f"accuracy proxy [{DEFAULT_PROXY}, the default]")
    args = parser.parse_args()
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    runs = [run(c, seed, args) for c, seed in tqdm([(c, s) for c in CONFIGS for s in SEEDS], desc="searches", unit="search")]
    every = [p for r in runs for p in r["points"]]
    q_lo, q_hi = min(q for q, _ in every), max(q for q, _ in every)
    t_lo, t_hi = min(t for _, t in every), max(t for _, t in every)
    for r in runs:
        normalised = [((q - q_lo) / (q_hi - q_lo), (t - t_lo) / (t_hi - t_lo)) for q, t in r.pop("points")]
        r["hypervolume"] = hypervolume(normalised, reference=(0.0, 1.0))
    summary = {}
    for c in CONFIGS:
        mine = [r for r in runs if r["config"] == c]
        summary[c] = {
            key: {"median": statistics.median(r[key] for r in mine), "values": [r[key] for r in mine]}
            for key in ("margin", "hypervolume", "seconds")
        }
        summary[c]["beats_references"] = sum(r["margin"] > 0 for r in mine)
    result = {
        "space": "mobiledet",
        "device": args.device,
        "proxy": args.proxy,
        "trials": args.trials,
        "seeds": list(SEEDS),
        "runs": runs,
        "summary": summary,
        "normalisation": {"proxy": [q_lo, q_hi], "latency_ms": [t_lo, t_hi]},
    }
    RESULTS.mkdir(exist_ok=True)
    stem = f"search_quality_{args.device}_{args.proxy}"
    atomic_write_text(RESULTS / f"{stem}.json", json.dumps(result, indent=2) + "\n")
    lines = [
        f"mobiledet on the {args.device} table, proxy {args.proxy}, {args.trials} trials, seeds {list(SEEDS)}. Margin = best proxy within "
        f"MobileNetV2-1.0's latency ({runs[0]['budget_ms']:.3f} ms) minus the best MobileNetV2-α reference's "
        f"({runs[0]['best_reference']:.4f}); hypervolume normalised, higher is better.",
        "",
        "| sampler | margin, median (per seed) | beats every reference | hypervolume, median (per seed) | seconds, median |",
        "|---|---|---|---|---|",
    ]
    for c, v in summary.items():
        lines.append(
            f"| {c} | {v['margin']['median']:+.4f} ({', '.join(f'{x:+.4f}' for x in v['margin']['values'])}) | "
            f"{v['beats_references']} of {len(SEEDS)} | {v['hypervolume']['median']:.4f} ({', '.join(f'{x:.4f}' for x in v['hypervolume']['values'])}) | "
            f"{v['seconds']['median']:.0f} |"
        )
    atomic_write_text(RESULTS / f"{stem}.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
