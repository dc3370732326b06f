"""Do the proxies hold outside NAS-Bench-Macro? Their ranking of trained ``mobiledet_cifar`` networks.

    python -m experiments.proxy_generalisation              # ~50 min on 2 cores with nothing banked (runs: results/proxy_generalisation_runs.json)
    python -m experiments.proxy_generalisation --deadline 30   # train for 30 min, report on what is banked by then (rerun to add the rest)
    python -m experiments.proxy_generalisation --random 0   # only the networks trained by the CIFAR experiment (~1 min)
    python -m experiments.proxy_generalisation --random 30 --steps 2400   # 3 epochs per random network (~8 h on 2 cores; resumable)

Two sets of trained networks of another MobileNet-style space (``mobiledet_cifar``: IBN, fused and Tucker
blocks with expansion, kernel and width choices), each scored by every proxy and by FLOPs:

1. A random sample: distinct ``space.random(seed)`` networks whose ``cpu`` table latency lies between the
   CIFAR experiment's α 0.35 and α 0.5 targets (the range its searches choose in, so the proxy must rank
   networks of similar cost), trained here with that experiment's schedule (400 SGD steps of batch 64,
   0.51 epoch, seed 0; same code and cache: experiments/cache/cifar/runs/).
2. The CIFAR experiment's networks (experiments/cifar_search_vs_mobilenetv2.py): the MobileNetV2-α
   references and what its searches found with every proxy it was run with (results/cifar_search*.json),
   1-3 seeds at half an epoch and, for those that finished, 6 epochs on a GPU (results/cifar_gpu.json).
   Not a random sample: what a search picks. Reported with and without the networks the default proxy
   itself picked.
3. Random networks trained for 3 epochs (experiments/cifar_train_gpu.py, one report per schedule: ``LONG_REPORTS``):
   40 ``space.random(i)`` networks of any cost, and the band sample of 1. with two seeds, on an H100 or on
   this CPU; a set is used with the seeds every network has. The band sample's runs of every schedule are
   also pooled (mean z-score of top-1 over every run) into one ground truth.

Spearman of each proxy with top-1. Writes experiments/results/proxy_generalisation.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import signal
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy import stats

from nas import ArchSpec, get_device, get_space
from nas.io import atomic_write_text
from nas.proxies import get_proxy
from nas.proxies.ensemble import EnsembleProxy, member, member_score

HERE = Path(__file__).resolve().parent

RESULTS = HERE / "results"
PROXIES = ("default", "naswot", "swap", "zen", "synflow", "zico", "depth", "macs", "params")
SPACE, REFERENCE = "mobiledet_cifar", "mobilenet_v2_cifar"
SCHEDULE = {"steps": 400, "batch": 64, "lr": 0.05}  # the CIFAR experiment's (its cached runs are reused)
# the half-epoch runs of the random networks, kept in the repository: the experiment's cache is git-ignored,
# so without them every fresh checkout retrains 48 runs (~35 min on 2 cores)
BANKED_RUNS = RESULTS / "proxy_generalisation_runs.json"
RANDOM_LABEL = "random mobiledet_cifar, {epochs:.2f} epoch (cpu, seeds {seeds})"


def random_networks(n: int, first_seed: int = 0) -> dict[str, ArchSpec]:
    """``n`` distinct random networks with ``cpu`` table latency between MobileNetV2-0.35's and -0.5's, drawn from
    ``space.random(seed)`` for seed = ``first_seed``, ``first_seed`` + 1, ... (about one in 2,000 lies in the band)."""
    table = get_device("cpu").load_table()
    low, high = (table.latency(get_space(REFERENCE, width=w).arch()) for w in (0.35, 0.5))
    space, nets, seed = get_space(SPACE), {}, first_seed
    while len(nets) < n:
        arch = space.random(seed)
        if low <= table.latency(arch) <= high and arch.to_string() not in {a.to_string() for a in nets.values()}:
            nets[f"random-{seed}"] = arch.with_name(f"random-{seed}")
        seed += 1
    return nets


def train_random(
    nets: dict[str, ArchSpec], seeds: list[int], processes: int, steps: int, deadline: float | None
) -> dict[int, dict[str, float]]:
    """Top-1 of each network and seed after the CIFAR experiment's schedule, or ``steps`` of it (cached per run, as that experiment's),
    with the runs finished by ``deadline`` (epoch s; a rerun trains the rest)."""
    from experiments._lib.cifar_train import CACHE, finish_training, start_training, training_job

    jobs = [training_job(name, arch, seed=seed, **{**SCHEDULE, "steps": steps}) for seed in seeds for name, arch in nets.items()]
    for run in banked_runs():  # into the cache, where start_training looks
        if not (CACHE / "runs" / f"{run['key']}.json").exists():
            atomic_write_text(CACHE / "runs" / f"{run['key']}.json", json.dumps(run, indent=1))
    start = time.perf_counter()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `kill PID`: stop the workers and bank what finished
    try:
        with multiprocessing.get_context("spawn").Pool(processes) as pool:
            runs = finish_training(start_training(pool, jobs), deadline=deadline)
    finally:  # also after Ctrl-C: every run that finished is in the cache by now
        bank_runs(CACHE / "runs")
    print(f"{len(runs)} runs of random networks trained or read from the cache in {time.perf_counter() - start:.0f} s")
    return {seed: {r["net"]: r["top1"] for r in runs if r["seed"] == seed and r.get("top1") is not None} for seed in seeds}


def banked_runs() -> list[dict]:
    return json.loads(BANKED_RUNS.read_text()) if BANKED_RUNS.exists() else []


def bank_runs(cache: Path) -> None:
    """Add the cached half-epoch runs of the random networks to ``BANKED_RUNS`` (the repository's copy)."""
    banked = {run["key"]: run for run in banked_runs()}
    for file in sorted(cache.glob("random-*.json")):
        run = json.loads(file.read_text())
        banked[run["key"]] = run
    atomic_write_text(BANKED_RUNS, json.dumps([banked[key] for key in sorted(banked)], indent=1))


def experiment_networks() -> tuple[dict[str, ArchSpec], dict[str, dict[str, float]]]:
    """The CIFAR experiment's networks and their mean top-1, per schedule.

    Every run of that experiment counts (results/cifar_search*.json: the default proxy of its time, and
    ``--proxy`` variants); a found network is named by its device, width and the results file it came from.
    """
    archs: dict[str, ArchSpec] = {}
    cpu: dict[int, dict[str, float]] = {}  # SGD steps → network → mean top-1
    name_of: dict[str, str] = {}  # arch string → name
    for path in sorted(RESULTS.glob("cifar_search*.json")):
        if "quick" in path.stem:
            continue
        report = json.loads(path.read_text())
        steps = report["settings"]["steps"]
        variant = path.stem.removeprefix("cifar_search").removesuffix(f"_steps{steps}").lstrip("_") or "current"
        for row in report["rows"]:
            name = row["net"] if row["net"].startswith("MobileNetV2") else f"{row['net']} ({variant})"
            name_of.setdefault(row["arch"], name)
            archs[name_of[row["arch"]]] = ArchSpec.from_string(row["arch"])
            if row["top1_mean"] is not None:
                cpu.setdefault(steps, {})[name_of[row["arch"]]] = row["top1_mean"]
    label = f"CIFAR experiment's networks, {SCHEDULE['steps'] * SCHEDULE['batch'] / 50000:.2f} epoch (cpu, 1-3 seeds)"
    # Without the networks the default proxy itself chose: a set it did not pick, so a high Spearman there is not
    # just "the proxy agrees with its own choices".
    main = cpu.pop(SCHEDULE["steps"], {})
    others = {name: top1 for name, top1 in main.items() if not name.endswith("(current)")}
    truths = {label: main, f"{label}, without the default's own picks": others}
    for steps, trained in sorted(cpu.items()):  # longer schedules of a few of them (--steps); 3 ranks say nothing
        if len(trained) >= 4:
            truths[f"CIFAR experiment's networks, {steps * SCHEDULE['batch'] / 50000:.2f} epochs (cpu)"] = trained
    gpu_file, nets_file = RESULTS / "cifar_gpu.json", RESULTS / "cifar_gpu_nets.json"
    if gpu_file.exists() and nets_file.exists():
        gpu, nets = json.loads(gpu_file.read_text()), json.loads(nets_file.read_text())["searched"]
        trained = {name_of.get(nets[net], net): e["top1_mean"] for net, e in gpu["searched"].items() if nets[net] in name_of}
        if len(trained) >= 3:
            truths[f"CIFAR experiment's networks, {gpu['meta'][0]['epochs']['searched']} epochs (GPU, 1-3 seeds)"] = trained
    return archs, truths


# Reports of experiments.cifar_gpu_report, one per schedule of its random and band sets: the first
# (peak lr 0.2, warm-up 5 % of the steps; diverged early) and the fixed one (peak lr 0.1, one-epoch warm-up),
# trained on an H100 or, resumably, on a CPU.
LONG_REPORTS = ("cifar_gpu.json", "cifar_gpu_lr01.json")


def long_schedule_networks() -> tuple[dict[str, ArchSpec], dict[str, dict[str, dict[int, float]]], dict[str, str]]:
    """The random networks trained for several epochs (``LONG_REPORTS``): per complete set and schedule, network →
    seed → top-1; and, for a set still being trained, how many of its runs are done.

    The sets are all ``space.random(seed)`` networks and are named ``random-<seed>`` here, as in ``random_networks``.
    A set counts with the seeds every network of it has (``ranked_seeds``); a seed still being trained is left out.
    """
    nets_file = RESULTS / "cifar_gpu_nets.json"
    if not nets_file.exists():
        return {}, {}, {}
    nets = json.loads(nets_file.read_text())
    archs, truths, progress = {}, {}, {}
    for file in (RESULTS / name for name in LONG_REPORTS):
        if not file.exists():
            continue
        report = json.loads(file.read_text())
        for name in ("random", "band", "band_fresh"):
            rows = report.get(name, {}).get("rows", [])
            if not rows:
                continue
            metas = [m for m in report["meta"] if name in m["sets"]]
            where = "H100" if all("H100" in m["gpu"] for m in metas) else "cpu" if all(m["gpu"] == "cpu" for m in metas) else "H100 and cpu"
            meta = metas[0]
            warmup = f"{meta['warmup_epochs']:g}-epoch warm-up" if "warmup_epochs" in meta else "warm-up 5 % of steps"
            seeds = report[name].get("ranked_seeds", report[name]["seeds"])  # reports before that field held complete sets only
            sample = {"band": " in the band", "band_fresh": ", fresh band sample (held out)", "random": ", any cost"}[name]
            label = (
                f"random mobiledet_cifar{sample}, {meta['epochs'][name]} epochs, "
                f"peak lr {meta['lr']:g}, {warmup} ({where}, seeds {', '.join(map(str, seeds))})"
            )
            if not report[name].get("complete", True):
                progress[label] = (
                    f"{report[name]['runs_done']} of {report[name]['runs_in_set']} runs (seeds {', '.join(map(str, report[name]['seeds']))})"
                )
            if not seeds:
                continue
            for row in rows:
                net = "random-" + row["net"].rsplit("-", 1)[1]
                archs[net] = ArchSpec.from_string(nets[name][row["net"]]).with_name(net)
                truths.setdefault(label, {})[net] = {int(seed): top1 for seed, top1 in row["top1_seeds"].items() if int(seed) in seeds}
    return archs, truths, progress


def seed_to_seed(runs: dict[str, dict]) -> float | None:
    """Mean Spearman of one run's top-1 against another's, over the pairs of runs (keys of each network's dict)."""
    keys = sorted(set.intersection(*(set(r) for r in runs.values()))) if runs else []
    pairs = [(a, b) for i, a in enumerate(keys) for b in keys[i + 1 :]]
    if not pairs:
        return None
    return float(np.mean([stats.spearmanr([r[a] for r in runs.values()], [r[b] for r in runs.values()])[0] for a, b in pairs]))


def pooled(runs: dict[str, dict]) -> dict[str, float]:
    """Mean z-score of top-1 over every run: schedules of different length weigh alike."""
    keys = sorted(set.intersection(*(set(r) for r in runs.values())))
    columns = {k: np.array([r[k] for r in runs.values()]) for k in keys}
    z = np.mean([(c - c.mean()) / c.std() for c in columns.values()], axis=0)
    return dict(zip(runs, map(float, z)))


def random_ground_truths(
    n: int, seeds: list[int], processes: int, steps: int, deadline: float | None
) -> tuple[dict[str, ArchSpec], dict[str, dict[str, float]], dict[str, float | None], dict[str, str]]:
    """Random networks and their top-1 per ground truth: ``n`` band networks trained here (CPU schedule), the sets
    trained for several epochs, and every band run pooled; with each truth's run-to-run Spearman, and what is
    still being trained."""
    archs: dict[str, ArchSpec] = {}
    ceilings: dict[str, float | None] = {}  # how well one run's top-1 ranks another's: the most any proxy can reach
    random_truths: dict[str, dict[str, float]] = {}
    cpu_runs: dict[str, dict] = {}
    progress: dict[str, str] = {}
    if n:
        randoms = random_networks(n)
        per_seed = train_random(randoms, seeds, processes, steps, deadline)
        cpu_runs = {net: {seed: per_seed[seed][net] for seed in seeds} for net in randoms if all(net in per_seed[s] for s in seeds)}
        label = RANDOM_LABEL.format(epochs=steps * SCHEDULE["batch"] / 50000, seeds=", ".join(map(str, seeds)))
        if len(cpu_runs) < n:  # cut by --deadline: ranked on the networks with every seed
            progress[label] = f"{sum(map(len, per_seed.values()))} of {n * len(seeds)} runs (networks with every seed: {len(cpu_runs)})"
        random_truths[label] = {net: float(np.mean(list(r.values()))) for net, r in cpu_runs.items()}
        ceilings[label] = seed_to_seed(cpu_runs)
        archs |= randoms
    long_archs, long_runs, long_progress = long_schedule_networks()  # after training: reports written meanwhile count
    progress |= long_progress
    for label, runs in long_runs.items():
        random_truths[label] = {net: float(np.mean(list(r.values()))) for net, r in runs.items()}
        ceilings[label] = seed_to_seed(runs)
    band = {net: {f"short {k}": v for k, v in r.items()} for net, r in cpu_runs.items()}
    long_band = [runs for label, runs in long_runs.items() if "in the band" in label]
    for index, runs in enumerate(long_band):
        band = {net: r | {f"long{index} {k}": v for k, v in runs.get(net, {}).items()} for net, r in band.items()}
    band = {net: r for net, r in band.items() if any(k.startswith("long") for k in r)}
    if len(band) >= 12:
        label = f"random in the band, pooled: {len(next(iter(band.values())))} runs of {1 + len(long_band)} schedules (mean z-score)"
        random_truths[label] = pooled(band)
        ceilings[label] = seed_to_seed(band)
    return archs | long_archs, random_truths, ceilings, progress


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--random", type=int, default=24, help="random networks to train (0: only the CIFAR experiment's)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="training seeds of the random networks")
    parser.add_argument("--processes", type=int, default=2, help="training runs in parallel (one thread each)")
    parser.add_argument(
        "--deadline",
        type=float,
        help="minutes of training, after which the report uses the random networks trained with every seed (a rerun adds the rest)",
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=SCHEDULE["steps"],
        help="SGD steps per random network (a longer schedule ranks them more reliably; another value writes results/proxy_generalisation_steps<N>.*)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    archs, truths = experiment_networks()
    random_archs, random_truths, ceilings, progress = random_ground_truths(
        args.random, args.seeds, args.processes, args.steps, None if args.deadline is None else time.time() + 60 * args.deadline
    )
    archs |= random_archs
    truths = {**random_truths, **truths}
    scores = {name: {net: get_proxy(name).evaluate(arch, seed=0).score for net, arch in archs.items()} for name in PROXIES}
    # the combinations experiments/proxy_correlation.py fitted on NAS-Bench-Macro's half A, as they would score here
    fitted = json.loads((RESULTS / "proxy_correlation.json").read_text())["ensemble_weights_fitted_on_A"]
    needed = {member(term) for weights in fitted.values() for term in weights}
    members = {name: {net: member_score(name, arch) for net, arch in archs.items()} for name in needed}
    for label, weights in fitted.items():
        scores[f"fit:{label}"] = EnsembleProxy.combine(weights, members)
    report = {"proxies": list(scores), "fitted": fitted, "scores": scores, "schedules": {}, "being_trained": progress}
    for schedule, truth in truths.items():
        nets = [n for n in truth if n in archs]
        report["schedules"][schedule] = {
            "n": len(nets),
            "seed_to_seed": ceilings.get(schedule),
            "top1": {n: truth[n] for n in nets},
            "spearman": {p: float(stats.spearmanr([scores[p][n] for n in nets], [truth[n] for n in nets])[0]) for p in scores},
            "vs_macs_90": versus_macs(scores, truth, nets) if len(nets) >= 12 else None,
        }
    stem = "proxy_generalisation" + ("" if args.steps == SCHEDULE["steps"] else f"_steps{args.steps}")
    atomic_write_text(RESULTS / f"{stem}.json", json.dumps(report, indent=1))
    atomic_write_text(RESULTS / f"{stem}.md", markdown(report))
    print(markdown(report))


def versus_macs(scores: dict[str, dict[str, float]], truth: dict[str, float], nets: list[str], draws: int = 2000) -> dict[str, list[float]]:
    """5th and 95th percentiles of (Spearman of the proxy − Spearman of MACs) over bootstrap resamples of the networks."""
    rng = np.random.default_rng(0)
    y = np.array([truth[n] for n in nets])
    columns = {p: np.array([scores[p][n] for n in nets]) for p in scores}
    deltas: dict[str, list[float]] = {p: [] for p in scores if p != "macs"}
    for _ in range(draws):
        pick = rng.integers(0, len(nets), len(nets))
        base = stats.spearmanr(columns["macs"][pick], y[pick])[0]
        for p in deltas:
            deltas[p].append(stats.spearmanr(columns[p][pick], y[pick])[0] - base)
    return {p: [float(np.nanpercentile(d, 5)), float(np.nanpercentile(d, 95))] for p, d in deltas.items()}


def markdown(report: dict) -> str:
    lines = [
        "Spearman with trained CIFAR-10 top-1 of `mobiledet_cifar` networks: a random sample with `cpu` table latency "
        "between MobileNetV2-0.35's and -0.5's (first row, if trained), and the CIFAR experiment's networks "
        "(MobileNetV2-α references and the networks its searches found)",
        "",
        "| schedule | n | " + " | ".join(report["proxies"]) + " |",
        "|---|---|" + "---|" * len(report["proxies"]),
    ]
    for schedule, entry in report["schedules"].items():
        lines.append(f"| {schedule} | {entry['n']} | " + " | ".join(f"{entry['spearman'][p]:+.2f}" for p in report["proxies"]) + " |")
    for schedule, entry in report["schedules"].items():
        if entry.get("vs_macs_90"):
            lines += [
                "",
                f"{schedule}: Spearman minus that of MACs, 90 % bootstrap interval (2,000 resamples of the {entry['n']} networks)",
                "",
                "| " + " | ".join(entry["vs_macs_90"]) + " |",
                "|" + "---|" * len(entry["vs_macs_90"]),
                "| " + " | ".join(f"{lo:+.2f} … {hi:+.2f}" for lo, hi in entry["vs_macs_90"].values()) + " |",
            ]
    ceilings = {schedule: e["seed_to_seed"] for schedule, e in report["schedules"].items() if e.get("seed_to_seed") is not None}
    if ceilings:
        lines += [
            "",
            "Run-to-run Spearman of top-1 (one run's ranking of the networks against another's, mean over pairs of runs; "
            "what a perfect proxy could reach against a single run): " + "; ".join(f"{s}: {c:+.2f}" for s, c in ceilings.items()),
        ]
    if report.get("being_trained"):
        lines += [
            "",
            "Being trained (the figures above use only the seeds every network has): "
            + "; ".join(f"{label}: {done}" for label, done in report["being_trained"].items()),
        ]
    fitted = report.get("fitted", {})
    if fitted:
        lines += [
            "",
            "fit:* = the combinations fitted on NAS-Bench-Macro half A by experiments/proxy_correlation.py: "
            + "; ".join(f"{label} {json.dumps(weights)}" for label, weights in fitted.items()),
        ]
    lines += [
        "",
        "| network | " + " | ".join(report["proxies"]) + " | " + " | ".join(report["schedules"]) + " |",
        "|---|" + "---|" * (len(report["proxies"]) + len(report["schedules"])),
    ]
    for net in report["scores"]["default"]:
        cells = [f"{report['scores'][p][net]:.4g}" for p in report["proxies"]]
        cells += [f"{e['top1'][net]:.2f}" if net in e["top1"] else "—" for e in report["schedules"].values()]
        lines.append(f"| {net} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
