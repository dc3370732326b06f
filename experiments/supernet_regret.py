"""How far below the best network within a latency budget does a constrained search on NAS-Bench-Macro land?

    taskset -c 0 python -m experiments.supernet_regret --supernet experiments/cache/supernet_macro_spos \\
        --proxies supernet default macs --seeds 0 1 2          # results/supernet_regret.{md,json}

The budgets: the ``cpu`` table's latencies (latency_tables/cpu.yaml, 32 px) that split the 6,561 keys of
``nas_bench_macro`` at 25 / 50 / 75 %. At each budget, for each proxy and seed, one search of ``--trials`` trials
with the project's own machinery (``nas.study.SearchContext`` + ``run_trials``: NSGA-II, objective
``constrained``, the latency constraint of ``--latency-target``), and the network the search chooses
(``nas.records.choose_best``: the best proxy within the budget, ties to the faster). *Regret* = the best
benchmark ``mean_acc`` among all keys within the budget minus the chosen key's ``mean_acc`` (points; 0 is perfect).

Scores are cached per key (``supernet``: ``SUPERNET.scores.json``, shared with experiments/supernet_macro.py;
the others in experiments/cache/macro_PROXY.scores.json), so a key a search samples again, or another
budget's or seed's search samples, is scored once. Every score is taken at proxy seed 0 (the supernet's BN
calibration batches and validation images; the zero-cost proxies' inputs), so the search seed changes only the
sampler. ``macs`` and the zero-cost default need no data; the supernet is scored on the data it was trained on.

Two diagnostic scorers separate the search's share of the regret from the proxy's:

- ``oracle`` scores a key by its benchmark ``mean_acc`` itself: the regret left is the search's (200 of 6,561 keys
  sampled), a floor no proxy can beat with the same sampler and trials. It is a measurement aid, not a proxy.
- ``supernet:N`` is the supernet scored on ``N`` validation images instead of the proxy's default (500), to show how
  much of the supernet's regret is the noise of a small validation sample (cache ``SUPERNET.scores.valN.json``).

``--rescore K`` adds, for every supernet search, the regret after what ``nas-search --finalists K`` does: its ``K``
best distinct networks within the budget re-scored on the whole validation split (the proxy's ``rescore``, cache
``SUPERNET.scores.final.json``) and the best of them chosen (row "K best re-scored").
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import torch

from experiments._lib.data import BENCH, CACHE, cifar10
from experiments._lib.macro_scores import ScoreCache, all_keys, arch_of
from nas.arch import ArchSpec
from nas.devices import get_device
from nas.io import atomic_write_text
from nas.proxies import DEFAULT_PROXY
from nas.proxies.base import ProxyResult
from nas.records import choose_best, records
from nas.space import get_space
from nas.study import SearchContext, run_trials
from nas.study.finalists import finalists

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
QUANTILES = (0.25, 0.50, 0.75)


class OracleScorer:
    """``oracle``: the benchmark's own ``mean_acc`` of a key (the search-limited floor of the regret)."""

    name, needs_data = "oracle", False
    description = evidence = "the benchmark's 50-epoch mean_acc (diagnostic, not a proxy)"

    def __init__(self, bench: dict[str, dict]) -> None:
        self.bench = bench

    def prepare(self, *, space: Any = None, data: Any = None) -> None:
        return None

    def evaluate(self, arch: ArchSpec, *, seed: int = 0, data: Any = None, report: Any = None) -> ProxyResult:
        raise AssertionError("the oracle scores keys, through CachedProxy's lookup")


class CachedProxy:
    """A proxy whose scores are looked up per benchmark key before being computed (what ``run_trials`` calls)."""

    def __init__(self, *, proxy: Any, cache: ScoreCache, lookup: dict[str, str], data: Any) -> None:
        self.proxy, self.cache, self.lookup, self.data = proxy, cache, lookup, data
        self.name, self.description, self.evidence = proxy.name, proxy.description, proxy.evidence
        self.folder, self.needs_data = getattr(proxy, "folder", None), proxy.needs_data
        self.computed = 0

    def prepare(self, *, space: Any = None, data: Any = None) -> None:
        self.proxy.prepare(space=space, data=self.data)

    def evaluate(self, arch: ArchSpec, *, seed: int = 0, data: Any = None, report: Any = None) -> ProxyResult:
        key = self.lookup[arch.to_string()]
        start = time.perf_counter()
        fresh = key not in self.cache.scores and not isinstance(self.proxy, OracleScorer)
        if isinstance(self.proxy, OracleScorer):
            score = float(self.proxy.bench[key]["mean_acc"])
        else:
            score = self.cache.get(key, lambda: self.proxy.evaluate(arch, seed=0, data=self.data).score)
        self.computed += fresh
        return ProxyResult(score, time.perf_counter() - start)


def budgets(space: Any, table: Any) -> tuple[dict[str, float], dict[float, float]]:
    """Every key's table latency and the latencies at QUANTILES of them (ms)."""
    latency = {key: table.latency(arch_of(space, key)) for key in all_keys(space)}
    values = np.asarray(list(latency.values()))
    return latency, {q: float(np.quantile(values, q)) for q in QUANTILES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--supernet", type=Path, help="the trained supernet folder (experiments/supernet_macro.py --out)")
    parser.add_argument(
        "--proxies", nargs="+", default=["supernet", "default", "macs"], help="proxy names, supernet:N (N validation images), oracle"
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--sampler", default="nsga2", help="the search's sampler (nas-search --sampler)")
    parser.add_argument("--rescore", type=int, default=0, help="re-rank each supernet search's K best within the budget")
    parser.add_argument("--stem", default="supernet_regret", help="results/STEM.{md,json}")
    args = parser.parse_args()
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    uses_supernet = any(name.split(":")[0] == "supernet" for name in args.proxies)
    if uses_supernet and (args.supernet is None or not (args.supernet / "supernet.pt").is_file()):
        raise SystemExit(f"--supernet {args.supernet}: no supernet.pt there (train one with experiments/supernet_macro.py)")

    bench = json.loads(BENCH.read_text())  # all 6,561 keys: a search samples keys, not canonical networks
    space = get_space("nas_bench_macro")
    lookup = {arch_of(space, key).to_string(): key for key in all_keys(space)}
    data = cifar10() if uses_supernet else None
    spec = f"imagefolder:{CACHE / 'cifar10'}"
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    latency, targets = budgets(space, get_device("cpu").load_table())  # the table ``--device cpu`` searches price with
    runs: list[dict] = []
    proxies: dict[str, CachedProxy] = {}
    for name in args.proxies:
        for seed in args.seeds:  # seed by seed: a run cut short has every budget for the first seeds
            for quantile in QUANTILES:
                base, _, val_size = name.partition(":")
                with tempfile.TemporaryDirectory() as folder:
                    supernet = {"supernet": str(args.supernet), "data": spec} if base == "supernet" else {}
                    context = SearchContext.create(
                        space="nas_bench_macro",
                        device="cpu",
                        latency_target_ms=targets[quantile],
                        proxy="macs" if base == "oracle" else base,
                        trials=args.trials,
                        sampler=args.sampler,
                        seed=seed,
                        out=folder,
                        storage=f"{folder}/study.journal",
                        **supernet,
                    )
                    if name not in proxies:
                        path = CACHE / f"macro_{base}.scores.json"
                        scorer = OracleScorer(bench) if base == "oracle" else context.proxy
                        if base == "supernet":
                            suffix = f".val{val_size}" if val_size else ""
                            path = args.supernet.parent / f"{args.supernet.name}.scores{suffix}.json"
                            if val_size:
                                scorer.val_size = int(val_size)
                        scoring_data = data if base == "supernet" else None  # the others as in a search without --data
                        proxies[name] = CachedProxy(proxy=scorer, cache=ScoreCache(path), lookup=lookup, data=scoring_data)
                    context.proxy = proxies[name]
                    start = time.perf_counter()
                    before = proxies[name].computed
                    run_trials(context, progress=False)
                    rows = [r for r in records(context.open_study()) if r.complete]
                budget = targets[quantile]
                chosen, fits = choose_best(rows, budget)
                key = lookup[ArchSpec.from_string(chosen.arch).to_string()]
                best = max(bench[k]["mean_acc"] for k, ms in latency.items() if ms <= budget)
                sampled = [bench[lookup[ArchSpec.from_string(r.arch).to_string()]]["mean_acc"] for r in rows if r.latency_ms <= budget]
                extra: dict[str, Any] = {}
                if base == "supernet" and args.rescore:
                    final_cache = ScoreCache(args.supernet.parent / f"{args.supernet.name}.scores.final.json")
                    extra = rescore(
                        rows,
                        budget=budget,
                        args=args,
                        proxy=proxies[name].proxy,
                        cache=final_cache,
                        lookup=lookup,
                        data=data,
                        bench=bench,
                        best=best,
                    )
                runs.append(
                    {
                        "proxy": name,
                        "quantile": quantile,
                        "budget_ms": budget,
                        "seed": seed,
                        "chosen": key,
                        "fits": fits,
                        "chosen_latency_ms": chosen.latency_ms,
                        "chosen_mean_acc": bench[key]["mean_acc"],
                        "best_mean_acc": best,
                        "regret": best - bench[key]["mean_acc"],
                        "sampled_regret": best - max(sampled, default=best),  # the search's share of the regret
                        "distinct_keys": len({r.arch for r in rows}),
                        "newly_scored": proxies[name].computed - before,
                        "seconds": round(time.perf_counter() - start, 1),
                        **extra,
                    }
                )
                proxies[name].cache.flush()
                print(json.dumps(runs[-1]), flush=True)
                write(runs, args, started, targets)


def rescore(
    rows: list, *, budget: float, args: argparse.Namespace, proxy: Any, cache: ScoreCache, lookup: dict, data: Any, bench: dict, best: float
) -> dict[str, Any]:
    """What ``nas.study.finalists`` does after a search: the ``--rescore`` best distinct networks within the budget,
    re-scored by the proxy's ``rescore`` (the whole validation split), and the best of them chosen."""
    chosen_rows = finalists(rows, budget, args.rescore)
    scores = {}
    for row in chosen_rows:
        key = lookup[ArchSpec.from_string(row.arch).to_string()]
        scores[key] = (cache.get(key, lambda: proxy.rescore(row.arch_spec(), seed=0, data=data)), -row.latency_ms)
    cache.flush()
    chosen = max(scores, key=lambda key: scores[key])
    return {"rescored_chosen": chosen, "rescored_finalists": len(scores), "rescored_regret": best - bench[chosen]["mean_acc"]}


def write(runs: list[dict], args: argparse.Namespace, started: str, targets: dict[float, float]) -> None:
    """Bank what has finished so far (a killed run loses only the search in progress)."""
    load = open("/proc/loadavg").read().split()[0]
    result = {
        "command": "python -m experiments.supernet_regret " + " ".join(sys.argv[1:]),
        "started": started,
        "trials": args.trials,
        "sampler": args.sampler,
        "supernet": str(args.supernet),
        "budgets_ms": {f"{q:.0%}": ms for q, ms in targets.items()},
        "host": f"2-core AMD EPYC KVM, 1 torch thread, load average {load} at the last write",
        "runs": runs,
    }
    atomic_write_text(RESULTS / f"{args.stem}.json", json.dumps(result, indent=1) + "\n")
    names = list(dict.fromkeys(r["proxy"] for r in runs))
    lines = [
        "# Search regret on NAS-Bench-Macro",
        "",
        f"`{result['command']}` ({started}; {result['host']}). {args.trials} trials per search ({args.sampler}, constrained), "
        "regret = best `mean_acc` within the budget minus the chosen network's, in points; median over seeds (per seed). "
        "*best key sampled*: the same for the best network the search sampled within the budget (the search's share).",
        "",
        "| proxy | " + " | ".join(f"{q:.0%} budget ({ms:.3f} ms)" for q, ms in targets.items()) + " |",
        "| --- |" + " --- |" * len(targets),
    ]
    for name in names:
        cells = []
        for q in targets:
            mine = [r["regret"] for r in runs if r["proxy"] == name and r["quantile"] == q]
            cells.append(f"{statistics.median(mine):.2f} ({', '.join(f'{v:.2f}' for v in mine)})" if mine else "–")
        label = f"{name} ({DEFAULT_PROXY})" if name == "default" else name
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
        for field, row_label in (
            ("rescored_regret", f"{name}, {args.rescore} best re-scored"),
            ("sampled_regret", f"{name}: best key sampled"),
        ):
            mine_all = [r for r in runs if r["proxy"] == name and field in r]
            if mine_all:
                cells = []
                for q in targets:
                    mine = [r[field] for r in mine_all if r["quantile"] == q]
                    cells.append(f"{statistics.median(mine):.2f} ({', '.join(f'{v:.2f}' for v in mine)})" if mine else "–")
                lines.append(f"| {row_label} | " + " | ".join(cells) + " |")
    atomic_write_text(RESULTS / f"{args.stem}.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
