"""Rank correlation of every accuracy proxy with trained accuracy on NAS-Bench-Macro (CIFAR-10).

    taskset -c 0 python -m experiments.proxy_correlation            # ~20 min on one core

Samples ``--n`` of the benchmark's 3,969 distinct networks (see ``canonical``; each
built network's MACs must equal the benchmark's ``flops``), scores them with every
proxy (data-dependent ones on real CIFAR-10 images, and also on noise, data-free),
and reports Spearman/Kendall with ``mean_acc`` next to FLOPs, params, the non-
identity count and the seed-to-seed ceiling. Ensemble weights are fitted on half
"A" only (``fit_weights`` and ``fit_ridge``) and every number is also reported on
the held-out half "B". A subset of ``--train-n`` networks is scored by the
short-training proxy.

Writes experiments/results/proxy_correlation.{json,csv,md}. Per-arch scores are
cached in experiments/cache/proxy_scores.json so reruns only compute what is new.

    python -m experiments.proxy_correlation --compare OLD.csv   # a rerun's cached scores against a committed CSV

``--compare`` scores nothing: for every proxy whose scores of the same sample are all
in the cache, it checks them network by network against an earlier run's CSV (at the
CSV's 6 significant digits) and recomputes the Spearman figures, so that a rerun cut
short on a loaded machine still shows, proxy by proxy, whether the figures reproduce.
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

from experiments._lib.data import cifar10, load_bench
from experiments._lib.ensemble_fit import fit_ridge, fit_weights, rank_average
from nas.counting import count
from nas.io import atomic_write_text
from nas.proxies import get_proxy
from nas.proxies.ensemble import EnsembleProxy, member, member_score
from nas.space import get_space

ROOT = Path(__file__).resolve().parents[1]

CACHE = ROOT / "experiments" / "cache"
RESULTS = ROOT / "experiments" / "results"
# (row label, proxy name, data: "cifar" real images | "noise" seeded Gaussian batch | None)
ZERO_COST = [
    ("synflow", "synflow", None),
    ("naswot (CIFAR-10 batch)", "naswot", "cifar"),
    ("naswot (noise batch, data-free)", "naswot", "noise"),
    ("grad_norm (CIFAR-10 batch)", "grad_norm", "cifar"),
    ("snip (CIFAR-10 batch)", "snip", "cifar"),
    ("zen", "zen", None),
    ("zico (CIFAR-10 batch)", "zico", "cifar"),
    ("zico (noise batch, data-free)", "zico", "noise"),
    ("swap (CIFAR-10 batch)", "swap", "cifar"),
    ("swap (noise batch, data-free)", "swap", "noise"),
]


def check_counts(archs: dict, bench: dict) -> None:
    """Every built network must be the trained one: its MACs equal the benchmark's ``flops`` exactly."""
    wrong = [k for k, arch in archs.items() if count(arch).macs != bench[k]["flops"]]
    if wrong:
        raise SystemExit(
            f"{len(wrong)} networks differ from the benchmark's (MACs), e.g. {wrong[0]}: "
            f"{count(archs[wrong[0]]).macs} vs flops {bench[wrong[0]]['flops']}"
        )


def correlations(scores: list[float], truth: list[float]) -> dict[str, float]:
    return {"spearman": float(stats.spearmanr(scores, truth)[0]), "kendall": float(stats.kendalltau(scores, truth)[0])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="distinct networks to score (>= 500 for the README)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-n", type=int, default=30, help="networks for the short-training proxy (0: skip)")
    parser.add_argument("--train-steps", type=int, default=160, help="SGD steps of batch 64 per network")
    parser.add_argument("--train-resolution", type=int, default=16, help="training input size (CIFAR-10 downsampled)")
    parser.add_argument("--compare", type=Path, metavar="CSV", help="compare the cached scores with this earlier CSV, score nothing")
    args = parser.parse_args()
    if args.compare:
        print(compare(args.compare, n=args.n, seed=args.seed))
        return
    torch.set_num_threads(1)

    bench = load_bench()
    keys = random.Random(args.seed).sample(sorted(bench), args.n)
    half_a, half_b = set(keys[: args.n // 2]), set(keys[args.n // 2 :])
    space = get_space("nas_bench_macro")
    names = list(space.parameters)
    archs = {k: space.arch(dict(zip(names, k)), name=f"macro-{k}") for k in keys}
    check_counts(archs, bench)
    truth = {k: bench[k]["mean_acc"] for k in keys}
    data = {"cifar": cifar10(), "noise": None, None: None}

    cache_file = CACHE / "proxy_scores.json"
    cache: dict = json.loads(cache_file.read_text()) if cache_file.exists() else {}
    columns: dict[str, dict[str, float]] = {}
    seconds: dict[str, float] = {}  # median wall-clock per network (inflated when the core is shared)
    cpu_seconds: dict[str, float] = {}  # median process CPU time per network
    for label, proxy_name, source in ZERO_COST:
        proxy = get_proxy(proxy_name)
        entry = cache.setdefault(label, {})
        todo = [k for k in keys if k not in entry]
        for key in tqdm(todo, desc=label, leave=False):
            cpu = time.process_time()
            result = proxy.evaluate(archs[key], seed=args.seed, data=data[source])
            entry[key] = [result.score, result.seconds, time.process_time() - cpu]
        columns[label] = {k: entry[k][0] for k in keys}
        seconds[label] = float(np.median([entry[k][1] for k in keys]))
        cpu_seconds[label] = float(np.median([entry[k][2] for k in keys]))
        if todo:
            atomic_write_text(cache_file, json.dumps(cache))

    columns["FLOPs (baseline)"] = {k: bench[k]["flops"] for k in keys}
    columns["params (baseline)"] = {k: bench[k]["params"] for k in keys}
    columns["non-identity blocks (baseline)"] = {k: member_score("depth", archs[k]) for k in keys}

    # Data-free members (the default must need no data set); the ensemble is fitted on half A only.
    members = {
        "naswot": columns["naswot (noise batch, data-free)"],
        "synflow": columns["synflow"],
        "zen": columns["zen"],
        "zico": columns["zico (noise batch, data-free)"],
        "swap": columns["swap (noise batch, data-free)"],
        **{name: {k: member_score(name, archs[k]) for k in keys} for name in ("macs", "params", "depth")},
    }
    fit_keys = sorted(half_a)
    fit_members = {n: [c[k] for k in fit_keys] for n, c in members.items()}
    fit_truth = [truth[k] for k in fit_keys]
    label_of = {
        "naswot": "naswot (noise batch, data-free)",
        "synflow": "synflow",
        "zen": "zen",
        "zico": "zico (noise batch, data-free)",
        "swap": "swap (noise batch, data-free)",
    }
    # Terms chosen one by one, non-negative weights (the procedure of the earlier default)
    weights = fit_weights(fit_members, fit_truth)
    columns["non-negative terms fitted on half A"] = EnsembleProxy.combine(weights, members)
    # Members chosen by CV, each raw and as its log, ridge weights of either sign; one-SE rule towards the cheapest
    ridge, ridge_choice = fit_ridge(fit_members, fit_truth, cost={n: cpu_seconds[label] for n, label in label_of.items()})
    columns["ridge combination fitted on half A"] = EnsembleProxy.combine(ridge, members)
    columns["`ensemble` proxy (registered weights)"] = EnsembleProxy.combine(EnsembleProxy.weights, members)
    rank_members = ("naswot", "synflow", "zen")
    columns["rank ensemble (mean rank of naswot-noise, synflow, zen; population)"] = dict(
        zip(keys, rank_average([[members[n][k] for k in keys] for n in rank_members]))
    )
    # Structural members are analytic (microseconds); the cost is that of the network-evaluating members used.
    for label, used in zip(
        list(columns)[-4:],
        (
            [member(n) for n, w in weights.items() if w],
            ridge_choice["members"],
            [member(n) for n, w in EnsembleProxy.weights.items() if w],
            rank_members,
        ),
    ):
        seconds[label] = sum(seconds[label_of[n]] for n in set(used) if n in label_of)
        cpu_seconds[label] = sum(cpu_seconds[label_of[n]] for n in set(used) if n in label_of)

    rows = []
    for label, column in columns.items():
        row = {"proxy": label, "seconds": seconds.get(label, 0.0), "cpu_seconds": cpu_seconds.get(label, 0.0)}
        for part, subset in (("all", keys), ("A", sorted(half_a)), ("B", sorted(half_b))):
            row[part] = correlations([column[k] for k in subset], [truth[k] for k in subset])
        rows.append(row)
    seed_pairs = [(0, 1), (0, 2), (1, 2)]
    ceiling = {
        part: {
            "spearman": float(
                np.mean(
                    [stats.spearmanr([bench[k]["test_acc"][i] for k in s], [bench[k]["test_acc"][j] for k in s])[0] for i, j in seed_pairs]
                )
            ),
            "kendall": float(
                np.mean(
                    [stats.kendalltau([bench[k]["test_acc"][i] for k in s], [bench[k]["test_acc"][j] for k in s])[0] for i, j in seed_pairs]
                )
            ),
        }
        for part, s in (("all", keys), ("A", sorted(half_a)), ("B", sorted(half_b)))
    }
    rows.append({"proxy": "seed-to-seed ceiling (one seed's test_acc vs another's)", "seconds": 0.0, "cpu_seconds": 0.0, **ceiling})

    training = train_subset(keys, archs, truth, data["cifar"], args) if args.train_n else None
    write_results(rows, columns, keys, truth, half_a, {"non-negative": weights, "ridge": ridge}, training, args, ridge_choice)


def compare(csv_path: Path, *, n: int, seed: int) -> str:
    """Markdown: per proxy fully cached, networks equal to ``csv_path``'s scores and Spearman then and now."""
    import csv

    bench = load_bench()
    keys = random.Random(seed).sample(sorted(bench), n)
    half_b = keys[n // 2 :]
    with csv_path.open(newline="") as handle:
        old = {row["key"]: row for row in csv.DictReader(handle)}
    if set(old) != set(keys):
        raise SystemExit(f"{csv_path}: not the networks of --n {n} --seed {seed}")
    cache = json.loads((CACHE / "proxy_scores.json").read_text()) if (CACHE / "proxy_scores.json").exists() else {}
    lines = [
        f"| proxy | networks equal to {csv_path.name} (6 digits) | max relative difference | Spearman (all): then → now | (held-out B): then → now |",
        "|---|---|---|---|---|",
    ]
    rerun = {label: {k: cache[label][k][0] for k in keys} for label, _, _ in ZERO_COST if all(k in cache.get(label, {}) for k in keys)}
    ensemble = "`ensemble` proxy (registered weights)"
    if {"naswot (noise batch, data-free)", "synflow"} <= set(rerun) and {member(t) for t in EnsembleProxy.weights} <= {
        "naswot",
        "synflow",
        "depth",
    }:
        space = get_space("nas_bench_macro")
        depth = {k: member_score("depth", space.arch(dict(zip(space.parameters, k)))) for k in keys}
        members = {"naswot": rerun["naswot (noise batch, data-free)"], "synflow": rerun["synflow"], "depth": depth}
        rerun[ensemble] = EnsembleProxy.combine(EnsembleProxy.weights, members)
    for label in [*(row for row, _, _ in ZERO_COST), ensemble]:
        if label not in rerun:
            cached = sum(k in cache.get(label, {}) for k in keys)
            lines.append(
                f"| {label} | not rerun ({cached} of {n} cached) | | | |" if label != ensemble else f"| {label} | needs its members | | | |"
            )
            continue
        new = rerun[label]
        before = {k: float(old[k][label]) for k in keys}
        equal = sum(f"{new[k]:.6g}" == old[k][label] for k in keys)
        worst = max(abs(new[k] - before[k]) / max(abs(before[k]), 1e-12) for k in keys)
        spearman = [
            [float(stats.spearmanr([scores[k] for k in subset], [bench[k]["mean_acc"] for k in subset])[0]) for subset in (keys, half_b)]
            for scores in (before, new)
        ]
        lines.append(
            f"| {label} | {equal} of {n} | {worst:.1e} | {spearman[0][0]:.3f} → {spearman[1][0]:.3f} | {spearman[0][1]:.3f} → {spearman[1][1]:.3f} |"
        )
    return "\n".join(lines)


def train_subset(keys, archs, truth, data, args) -> dict:
    """The short-training proxy on the first ``--train-n`` sampled networks (runs banked by train_proxy_budget.py)."""
    from experiments.train_proxy_budget import parse_budget, summarise, train_scores

    proxy = parse_budget(f"{args.train_steps}:{args.train_resolution}:500")
    subset = keys[: args.train_n]
    runs = train_scores(proxy, {k: archs[k] for k in subset}, data, seed=args.seed)
    return {
        **summarise(proxy, runs, truth),
        "scores": {k: runs[k]["top1"] for k in subset},
        "curves": {k: runs[k]["curve"] for k in subset},
    }


def write_results(rows, columns, keys, truth, half_a, weights, training, args, ridge_choice) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    summary = {
        "benchmark": "NAS-Bench-Macro CIFAR-10, distinct networks",
        "n": len(keys),
        "seed": args.seed,
        "ensemble_weights_fitted_on_A": weights,
        "ridge_choice": ridge_choice,
        "rows": rows,
        "train_proxy": training,
        "torch_threads": torch.get_num_threads(),
    }
    atomic_write_text(RESULTS / "proxy_correlation.json", json.dumps(summary, indent=1))
    header = ["key", "half", "mean_acc", *columns]
    lines = [",".join(f'"{h}"' for h in header)]
    for k in keys:
        lines.append(",".join([k, "A" if k in half_a else "B", f"{truth[k]:.4f}", *(f"{columns[c][k]:.6g}" for c in columns)]))
    atomic_write_text(RESULTS / "proxy_correlation.csv", "\n".join(lines) + "\n")
    md = [
        f"NAS-Bench-Macro (CIFAR-10), {len(keys)} distinct networks sampled with seed {args.seed}; "
        f"half A ({len(half_a)}) is used to fit the ensemble weights, half B ({len(keys) - len(half_a)}) is held out. "
        "Cost: median seconds per network, one thread (`taskset -c 0`, torch.set_num_threads(1)), as process CPU time "
        "and as wall-clock (wall is inflated: the core was shared with other jobs during the run).",
        "",
        "| proxy | Spearman (all) | Kendall (all) | Spearman (held-out B) | Kendall (B) | CPU s / arch | wall s / arch |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        md.append(
            f"| {row['proxy']} | {row['all']['spearman']:.3f} | {row['all']['kendall']:.3f} | "
            f"{row['B']['spearman']:.3f} | {row['B']['kendall']:.3f} | {row['cpu_seconds']:.3f} | {row['seconds']:.3f} |"
        )
    if training:
        md += [
            "",
            f"Short-training proxy `train` ({training['budget']}) on {training['n']} of these networks: "
            f"Spearman {training['spearman']:.3f}, Kendall {training['kendall']:.3f}, "
            f"{training['cpu_seconds_median']:.1f} CPU s per network (median; wall {training['seconds_median']:.1f} s), "
            f"{training['cpu_hours_total'] * 60:.1f} CPU min in all.",
        ]
    md += [
        "",
        f"Weights fitted on half A (5-fold cross-validation inside A): {json.dumps(weights)}",
        "",
        f"Ridge: members {ridge_choice['members']} (penalty {ridge_choice['penalty']}, CV Spearman "
        f"{ridge_choice['cv_spearman']:.3f} ± {ridge_choice['cv_se']:.3f}), the cheapest set within one standard error of the best "
        f"CV set {ridge_choice['best']['members']} ({ridge_choice['best']['cv_spearman']:.3f} ± {ridge_choice['best']['cv_se']:.3f}).",
    ]
    atomic_write_text(RESULTS / "proxy_correlation.md", "\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
