"""Search quality: hypervolume of the Pareto front (proxy ↑, latency ↓) for nsga2, tpe and random, 3 seeds each.

Fixed budget of 300 trials on mobiledet for the measured cpu table with the default proxy (about
0.1 s a trial: the nine runs take ~15 min on one core; ``--proxy macs`` takes minutes). Hypervolume
is computed on objectives normalised to [0, 1] by the range over all runs, against the reference
point (worst proxy, worst latency) of all runs, so the nine numbers are comparable. Trials are
recorded in an Optuna journal file (cheap), as large searches should.
Run: taskset -c 0 python experiments/search_quality.py [--proxy macs]
(writes experiments/results/search_quality_<proxy>.{json,md})
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
from nas.search import SearchContext, hypervolume, records, run_trials

RESULTS = Path(__file__).resolve().parent / "results"
SAMPLERS = ("nsga2", "tpe", "random")
SEEDS = (0, 1, 2)
TRIALS = 300
DEVICE = "cpu"


def run(sampler: str, seed: int, proxy: str) -> tuple[list[tuple[float, float]], float]:
    with tempfile.TemporaryDirectory() as folder:
        context = SearchContext.create(device=DEVICE, proxy=proxy, sampler=sampler, trials=TRIALS, seed=seed, out=folder,
                                       storage=f"{folder}/study.journal")
        start = time.perf_counter()
        run_trials(context, progress=False)
        seconds = time.perf_counter() - start
        rows = records(context.open_study())
    return [(r.proxy, r.latency_ms) for r in rows if r.complete], seconds


def main() -> None:
    from tqdm import tqdm

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proxy", default=DEFAULT_PROXY, help=f"accuracy proxy [{DEFAULT_PROXY}, the default]")
    proxy = parser.parse_args().proxy
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    jobs = [(s, seed) for s in SAMPLERS for seed in SEEDS]
    points = {(s, seed): run(s, seed, proxy) for s, seed in tqdm(jobs, desc="searches", unit="search")}
    every = [p for pts, _ in points.values() for p in pts]
    q_lo, q_hi = min(q for q, _ in every), max(q for q, _ in every)
    t_lo, t_hi = min(t for _, t in every), max(t for _, t in every)

    def norm(pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return [((q - q_lo) / (q_hi - q_lo), (t - t_lo) / (t_hi - t_lo)) for q, t in pts]

    runs = [{"sampler": s, "seed": seed, "hypervolume": round(hypervolume(norm(pts), reference=(0.0, 1.0)), 4), "seconds": round(sec, 1)}
            for (s, seed), (pts, sec) in points.items()]
    summary = {}
    for s in SAMPLERS:
        values = [r["hypervolume"] for r in runs if r["sampler"] == s]
        summary[s] = {"mean": round(statistics.mean(values), 4), "stdev": round(statistics.stdev(values), 4), "values": values}
    result = {"space": "mobiledet", "device": DEVICE, "proxy": proxy, "trials": TRIALS, "seeds": list(SEEDS), "runs": runs, "summary": summary,
              "normalisation": {"proxy": [q_lo, q_hi], "latency_ms": [t_lo, t_hi]}}
    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(RESULTS / f"search_quality_{proxy}.json", json.dumps(result, indent=2) + "\n")
    lines = [f"Hypervolume (normalised, higher is better), mobiledet on {DEVICE}, proxy {proxy}, {TRIALS} trials, seeds {list(SEEDS)}", "",
             "| sampler | mean | stdev | per seed |", "|---|---|---|---|"]
    lines += [f"| {s} | {v['mean']:.4f} | {v['stdev']:.4f} | {', '.join(f'{x:.4f}' for x in v['values'])} |" for s, v in summary.items()]
    atomic_write_text(RESULTS / f"search_quality_{proxy}.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
