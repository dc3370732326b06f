"""Search overhead: per-trial cost of the search layer over the bare Optuna sampler, as the study grows.

bare   = in-memory Optuna study, same sampler and seed, objective = one suggest per parameter of the
         mobiledet space (109), returning two cheap numbers: the sampler's own time per trial.
search = the ``nas-search --device cpu --proxy macs`` path in-process (``nas.study.run_trials``, so import
         time is not counted): sample in the mirror → ArchSpec → table latency → MACs → storage record,
         once on the default SQLite file and once on an Optuna journal file.
before = an earlier result file of this script (``--before``), shown beside this run in the .md.
Per-trial time at trial N = mean (and median) of the trial times of the ``WINDOW`` trials ending at N; the
mean includes the periodic mirror sync, which is part of the amortised cost.
Run: taskset -c 1 python -m experiments.search_overhead [--samplers nsga2,tpe] [--points 100,1000,2000] [--jobs 2] [--before FILE]
Writes experiments/results/search_overhead.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import optuna
import torch

from nas.io import atomic_write_text
from nas.space import get_space
from nas.study import SearchContext, make_sampler, run_trials
from nas.study.study import default_population

RESULTS = Path(__file__).resolve().parent / "results"
WINDOW = 50
STORAGES = {"sqlite": lambda folder: f"sqlite:///{folder}/study.db", "journal": lambda folder: f"{folder}/study.journal"}


def host() -> str:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Model name")), platform.processor())
    except OSError:
        model = platform.processor()
    return f"{model}, {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable by this run), {platform.node()}"


def now() -> tuple[float, float]:
    """(wall clock, this process's CPU time): on a shared host the CPU time is what load does not inflate."""
    return time.perf_counter(), time.process_time()


def durations(stamps: list[tuple[float, float]], start: tuple[float, float]) -> tuple[list[float], list[float]]:
    """Per-trial wall and CPU seconds."""
    pairs = list(zip([start, *stamps[:-1]], stamps))
    return [b[0] - a[0] for a, b in pairs], [b[1] - a[1] for a, b in pairs]


def bare(sampler: str, trials: int) -> tuple[list[float], list[float]]:
    params = get_space("mobiledet").parameters

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        picks = [values.index(trial.suggest_categorical(name, list(values))) for name, values in params.items()]
        return float(sum(picks)), float(sum(picks[::2]))

    population = default_population(trials) if sampler == "nsga2" else None
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=make_sampler(sampler, seed=0, population=population))
    stamps: list[tuple[float, float]] = []
    start = now()
    study.optimize(objective, n_trials=trials, callbacks=[lambda *_: stamps.append(now())])
    return durations(stamps, start)


def search(sampler: str, trials: int, storage: str) -> tuple[list[float], list[float]]:
    with tempfile.TemporaryDirectory() as folder:
        context = SearchContext.create(
            device="cpu", proxy="macs", sampler=sampler, trials=trials, seed=0, out=folder, storage=STORAGES[storage](folder)
        )
        stamps: list[tuple[float, float]] = []
        start = now()
        run_trials(context, progress=False, on_trial=lambda state: stamps.append(now()))
        return durations(stamps, start)


def window(times: list[float], point: int) -> dict[str, float]:
    part = times[max(0, point - WINDOW) : point]
    return {"mean_ms": round(1000 * statistics.fmean(part), 2), "median_ms": round(1000 * statistics.median(part), 2)}


def measure(sampler: str, points: list[int], storages: list[str]) -> list[dict]:
    """The bare sampler, then the search on each storage, in this process; one row per (storage, point)."""
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rows = []
    b = bare(sampler, max(points))
    for storage in storages:
        start = time.perf_counter()
        s = search(sampler, max(points), storage)
        total = time.perf_counter() - start
        for point in points:
            wb, ws, cb, cs = window(b[0], point), window(s[0], point), window(b[1], point), window(s[1], point)
            rows.append(
                {
                    "sampler": sampler,
                    "storage": storage,
                    "trial": point,
                    "bare": wb,
                    "search": ws,
                    "overhead_mean_ms": round(ws["mean_ms"] - wb["mean_ms"], 2),
                    "overhead_median_ms": round(ws["median_ms"] - wb["median_ms"], 2),
                    "bare_cpu": cb,
                    "search_cpu": cs,
                    "overhead_cpu_mean_ms": round(cs["mean_ms"] - cb["mean_ms"], 2),
                    "overhead_cpu_median_ms": round(cs["median_ms"] - cb["median_ms"], 2),
                    "search_total_s": round(total, 1),
                }
            )
            print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samplers", default="nsga2,tpe", help="comma-separated samplers [nsga2,tpe]")
    parser.add_argument("--points", default="100,1000,2000", help="trial numbers to report [100,1000,2000]")
    parser.add_argument("--storages", default="sqlite,journal")
    parser.add_argument("--tag", default="", help="suffix of the result files")
    parser.add_argument("--jobs", type=int, default=1, help="samplers measured side by side, one process each [1]")
    parser.add_argument(
        "--before", default="experiments/results/search_overhead_bulk.json", help="earlier result file to compare with ['' for none]"
    )
    args = parser.parse_args()
    points = [int(p) for p in args.points.split(",")]
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    load_before = os.getloadavg()
    samplers, storages = args.samplers.split(","), args.storages.split(",")
    rows: list[dict] = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:  # one process per sampler, each times its own bare and search runs
        for future in as_completed([pool.submit(measure, sampler, points, storages) for sampler in samplers]):
            rows += future.result()
            write(rows, args, load_before)  # after each sampler: a long run leaves what it measured so far


def write(rows: list[dict], args: argparse.Namespace, load_before: tuple[float, float, float]) -> None:
    rows = sorted(rows, key=lambda r: (r["sampler"] != "nsga2", r["sampler"], r["storage"] != "sqlite", r["trial"]))
    meta = {
        "space": "mobiledet (109 parameters)",
        "device": "cpu",
        "proxy": "macs",
        "window_trials": WINDOW,
        "host": host(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "command": "python -m experiments.search_overhead " + " ".join(f"--{k} {v}" for k, v in vars(args).items() if v),
        "runs": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(RESULTS / f"search_overhead{args.tag}.json", json.dumps(meta, indent=2) + "\n")
    lines = [
        f"# Search overhead over the bare Optuna sampler ({meta['space']}, --device cpu --proxy macs)",
        "",
        f"Host: {meta['host']}; load average before {meta['loadavg_before']}, after {meta['loadavg_after']} (shared, noisy machine).",
        f"Command: `{meta['command']}`. Per-trial ms = mean (median) of the {WINDOW} trials ending at the trial number.",
        "",
        "Wall = elapsed time; CPU = this process's CPU time (what the load of other jobs on a shared host does not inflate).",
        "",
        "| sampler | storage | trial | bare ms wall (CPU) | search ms wall (CPU) | overhead ms wall, mean (median) | overhead ms CPU, mean (median) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['sampler']} | {r['storage']} | {r['trial']} | {r['bare']['mean_ms']} ({r['bare_cpu']['mean_ms']}) | "
            f"{r['search']['mean_ms']} ({r['search_cpu']['mean_ms']}) | {r['overhead_mean_ms']} ({r['overhead_median_ms']}) | "
            f"{r['overhead_cpu_mean_ms']} ({r['overhead_cpu_median_ms']}) |"
        )
    lines += before_after(rows, Path(args.before)) if args.before and Path(args.before).is_file() else []
    atomic_write_text(RESULTS / f"search_overhead{args.tag}.md", "\n".join(lines) + "\n")


def before_after(rows: list[dict], path: Path) -> list[str]:
    """Mean overhead of this run beside an earlier run's, for the (sampler, storage, trial) both measured."""
    before = json.loads(path.read_text(encoding="utf-8"))
    earlier = {(r["sampler"], r["storage"], r["trial"]): r["overhead_mean_ms"] for r in before["runs"]}
    lines = [
        "",
        f"Before/after: mean overhead ms of `{path.name}` (host: {before['host']}; command: `{before['command']}`) and of this run.",
        "",
        "| sampler | storage | trial | before ms (wall) | after ms (wall) | after ms (CPU) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        was = earlier.get((r["sampler"], r["storage"], r["trial"]))
        lines.append(
            f"| {r['sampler']} | {r['storage']} | {r['trial']} | {'—' if was is None else was} | {r['overhead_mean_ms']} | "
            f"{r['overhead_cpu_mean_ms']} |"
        )
    return lines


if __name__ == "__main__":
    main()
