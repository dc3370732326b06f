"""Search overhead: per-trial cost of the search layer over the bare Optuna sampler, as the study grows.

For each point N the same ``N − WINDOW`` trials are put into both studies first (one pre-fill: a seeded
in-memory NSGA-II run over the 109 parameters of mobiledet, telling MACs and latency, the trials copied with
their sampler attributes), then ``WINDOW`` more trials are timed in each:

bare   = an in-memory Optuna study holding the pre-fill (``add_trials``), same sampler and seed, objective =
         one suggest per parameter, telling the candidate's MACs and cpu-table latency as the search does (the
         time to price it is subtracted): the sampler's own time per trial.
search = the ``nas-search --device cpu --proxy macs`` path in-process (``nas.study.run_trials`` on a storage
         holding the pre-fill): sample in the mirror → ArchSpec → table latency → MACs → storage record, on
         the default SQLite file and on an Optuna journal file. The first trial of the window is not
         counted: it includes the resume (reading the pre-fill into the mirror), reported as ``resume_s``.
So TPE, whose own cost grows with the study (seconds per trial at 2,000), is measured in minutes, not
by running 2,000 TPE trials. Per-trial ms = mean (median) over the window, wall and CPU time; the mean
includes the periodic mirror sync and batched writes, which are part of the amortised cost.

The A/B difference (search − bare) compares two runs of a sampler whose own cost varies by more than the
framework's (TPE: seconds a trial at 2,000). So the search run also clocks, in the same process, the CPU
time spent inside its sampler's methods (``SamplerClock``: ``infer_relative_search_space``,
``sample_relative``, ``sample_independent``, ``before_trial``, ``after_trial``, wrapped on the instance):
*framework CPU* = the trial's CPU time minus its sampler's. It still includes Optuna's own in-memory
``ask``/``suggest``/``tell`` machinery, pricing and the storage writes, so it is an upper bound of
what the search layer adds, and it does not depend on the sampler's noise. The bare run is clocked the
same way: *framework over bare* = framework CPU − the bare trial's CPU outside its sampler (Optuna's own
in-memory ask/suggest/tell), the A/B difference with the sampler taken out of both sides.
Run: flock /work/logs/timing.lock taskset -c 1 python -m experiments.search_overhead
     [--samplers nsga2,tpe] [--points 100,1000,2000] [--window 50] [--profile FILE] [--before FILE]
Writes experiments/results/search_overhead{TAG}.{json,md} (``--profile``: cProfile stats of the search windows).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import optuna
import torch

from nas.counting import count
from nas.devices import get_device
from nas.io import atomic_write_text
from nas.space import get_space
import nas.study.runner
from nas.study import SearchContext, make_sampler, run_trials
from nas.study.rdb import create_trials
from nas.study.study import default_population

RESULTS = Path(__file__).resolve().parent / "results"
STORAGES = {"sqlite": lambda folder: f"sqlite:///{folder}/study.db", "journal": lambda folder: f"{folder}/study.journal"}
SPACE = get_space("mobiledet")
PARAMS = SPACE.parameters


def host() -> str:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Model name")), platform.processor())
    except OSError:
        model = platform.processor()
    return f"{model}, {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable by this run), {platform.node()}"


GC_CPU = [0.0, 0.0]  # CPU seconds spent in garbage collection so far, start of the collection running now
GC_FREE = False  # --gc-free: every CPU clock leaves out the collector's time


def _gc_clock(phase: str, info: dict) -> None:
    if phase == "start":
        GC_CPU[1] = time.process_time()
    else:
        GC_CPU[0] += time.process_time() - GC_CPU[1]


def now() -> tuple[float, float]:
    """(wall clock, this process's CPU time): on a shared host the CPU time is what load does not inflate."""
    return time.perf_counter(), time.process_time() - (GC_CPU[0] if GC_FREE else 0.0)


class SamplerClock:
    """CPU and wall seconds spent inside one sampler's methods (outermost calls only), read between trials."""

    METHODS = ("infer_relative_search_space", "sample_relative", "sample_independent", "before_trial", "after_trial")

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0
        self.depth = 0

    def wrap(self, sampler: optuna.samplers.BaseSampler) -> optuna.samplers.BaseSampler:
        for name in self.METHODS:
            setattr(sampler, name, self.timed(getattr(sampler, name)))
        return sampler

    def timed(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if self.depth:
                return method(*args, **kwargs)
            self.depth, start = 1, now()
            try:
                return method(*args, **kwargs)
            finally:
                end = now()
                self.depth, self.wall, self.cpu = 0, self.wall + end[0] - start[0], self.cpu + end[1] - start[1]

        return call


def durations(stamps: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    """Per-trial wall and CPU seconds between consecutive stamps."""
    return [b[0] - a[0] for a, b in zip(stamps, stamps[1:])], [b[1] - a[1] for a, b in zip(stamps, stamps[1:])]


class Objective:
    """One suggest per parameter (the sampler's work), then the search's values of that candidate (MACs, cpu-table latency).

    Telling the same values as the search matters: NSGA-II's and TPE's own cost depends on the front they see.
    Pricing the candidate is not the sampler's work: its time is recorded per trial and subtracted (``excluded``).
    """

    def __init__(self) -> None:
        self.table = get_device("cpu").load_table()
        self.excluded: list[tuple[float, float]] = []

    def __call__(self, trial: optuna.Trial) -> tuple[float, float]:
        for name, values in PARAMS.items():
            trial.suggest_categorical(name, list(values))
        start = now()
        arch = SPACE.sample(optuna.trial.FixedTrial(trial.params))
        result = float(count(arch).macs), self.table.latency(arch)
        end = now()
        self.excluded.append((end[0] - start[0], end[1] - start[1]))
        return result


def prefill(trials: int, population: int) -> list[optuna.trial.FrozenTrial]:
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=make_sampler("nsga2", seed=1, population=population))
    study.optimize(Objective(), n_trials=trials)
    return study.get_trials(deepcopy=False)


def bare(
    sampler: str, held: list[optuna.trial.FrozenTrial], window: int, population: int | None
) -> tuple[list[float], list[float], list[float]]:
    """Wall and CPU seconds of each window trial (pricing taken out), and each trial's CPU outside its sampler."""
    clock = SamplerClock()
    study = optuna.create_study(
        directions=["maximize", "minimize"], sampler=clock.wrap(make_sampler(sampler, seed=0, population=population))
    )
    study.add_trials(held)
    objective = Objective()
    study.optimize(objective, n_trials=1)  # as in the search, the first trial reads the pre-fill (not counted)
    stamps, clocked = [now()], [clock.cpu]

    def stamp(*_: Any) -> None:
        stamps.append(now())
        clocked.append(clock.cpu)

    study.optimize(objective, n_trials=window, callbacks=[stamp])
    wall, cpu = durations(stamps)
    pricing = objective.excluded[1:]
    cpu = [c - p[1] for c, p in zip(cpu, pricing)]
    return [w - p[0] for w, p in zip(wall, pricing)], cpu, [c - (b - a) for c, a, b in zip(cpu, clocked, clocked[1:])]


def search(
    sampler: str, held: list[optuna.trial.FrozenTrial], window: int, population: int | None, storage: str, profile: cProfile.Profile | None
) -> tuple[list[float], list[float], float, list[float]]:
    """Wall and CPU seconds of each window trial, the resume's seconds, and each trial's framework CPU (its sampler's CPU taken out)."""
    clock = SamplerClock()
    nas.study.runner.make_sampler = lambda *a, **k: clock.wrap(make_sampler(*a, **k))  # the sampler the worker makes
    with tempfile.TemporaryDirectory() as folder:
        context = SearchContext.create(
            device="cpu",
            proxy="macs",
            sampler=sampler,
            population=population,
            trials=len(held) + window + 1,
            seed=0,
            out=folder,
            storage=STORAGES[storage](folder),
        )
        study = context.open_study()
        for start in range(0, len(held), 500):
            create_trials(study._storage, study._study_id, held[start : start + 500])
        stamps, clocked = [now()], [clock.cpu]

        def on_trial(state: object) -> None:
            stamps.append(now())
            clocked.append(clock.cpu)
            if profile is not None and len(stamps) == 2:  # the window, without the resume
                profile.enable()

        try:
            run_trials(context, progress=False, on_trial=on_trial)
        finally:
            nas.study.runner.make_sampler = make_sampler
        if profile is not None:
            profile.disable()
        wall, cpu = durations(stamps)
        in_sampler = [b - a for a, b in zip(clocked, clocked[1:])]
        return wall[1:], cpu[1:], wall[0], [c - s for c, s in zip(cpu[1:], in_sampler[1:])]


def stats(times: list[float]) -> dict[str, float]:
    return {"mean_ms": round(1000 * statistics.fmean(times), 2), "median_ms": round(1000 * statistics.median(times), 2)}


def measure(sampler: str, points: list[int], storages: list[str], window: int, profile: cProfile.Profile | None) -> list[dict]:
    """For each point: the bare sampler, then the search on each storage, from the same pre-fill; one row per (storage, point)."""
    population = default_population(max(points)) if sampler == "nsga2" else None
    filled = prefill(max(points) - window, default_population(max(points)))
    rows = []
    for point in points:
        held = filled[: point - window]
        b_wall, b_cpu, b_outside = bare(sampler, held, window, population)
        for storage in storages:
            s_wall, s_cpu, resume, framework = search(sampler, held, window, population, storage, profile)
            wb, ws, cb, cs = stats(b_wall), stats(s_wall), stats(b_cpu), stats(s_cpu)
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
                    "framework_cpu": stats(framework),
                    "bare_outside_sampler_cpu": stats(b_outside),
                    "framework_over_bare_cpu_ms": round(stats(framework)["mean_ms"] - stats(b_outside)["mean_ms"], 2),
                    "resume_s": round(resume, 2),
                }
            )
            print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samplers", default="nsga2,tpe", help="comma-separated samplers [nsga2,tpe]")
    parser.add_argument("--points", default="100,1000,2000", help="trial numbers to report [100,1000,2000]")
    parser.add_argument("--window", type=int, default=50, help="trials timed at each point [50]")
    parser.add_argument("--storages", default="sqlite,journal")
    parser.add_argument("--tag", default="", help="suffix of the result files")
    parser.add_argument("--profile", default="", help="write cProfile stats of the search windows to this file")
    parser.add_argument("--gc-free", action="store_true", help="leave garbage collection out of every CPU time (gc.callbacks)")
    parser.add_argument("--before", default="experiments/results/search_overhead_before.json", help="earlier result file ['' for none]")
    args = parser.parse_args()
    points = [int(p) for p in args.points.split(",")]
    if args.gc_free:  # does the collector, whose passes cost more as the heap grows, explain a growth?
        global GC_FREE
        GC_FREE = True
        gc.callbacks.append(_gc_clock)
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    load_before = os.getloadavg()
    profile = cProfile.Profile() if args.profile else None
    rows: list[dict] = []
    for sampler in args.samplers.split(","):
        rows += measure(sampler, points, args.storages.split(","), args.window, profile)
        write(rows, args, load_before)  # after each sampler: a long run leaves what it measured so far
    if profile is not None:
        profile.dump_stats(args.profile)


def write(rows: list[dict], args: argparse.Namespace, load_before: tuple[float, float, float]) -> None:
    rows = sorted(rows, key=lambda r: (r["sampler"] != "nsga2", r["sampler"], r["storage"] != "sqlite", r["trial"]))
    meta = {
        "space": "mobiledet (109 parameters)",
        "device": "cpu",
        "proxy": "macs",
        "window_trials": args.window,
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
        f"Command: `{meta['command']}`. Per-trial ms = mean (median) of the {args.window} trials after the pre-filled trial number "
        "minus the window (resume excluded).",
        "",
        "CPU = this process's CPU time (what the load of other jobs on a shared host does not inflate); wall = elapsed time.",
        "",
        "Framework CPU = each search trial's CPU time minus the CPU time its own sampler spent in that trial (same process); "
        "bare outside its sampler = the same for the bare run (Optuna's in-memory ask/suggest/tell); framework over bare = "
        "their difference of means (the sampler's own noise out of both sides).",
        "",
        "| sampler | storage | trial | bare ms CPU (wall) | search ms CPU (wall) | overhead ms CPU, mean (median) | overhead ms wall, mean (median) "
        "| framework ms CPU, mean (median) | bare outside its sampler ms CPU | framework over bare ms CPU | resume s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['sampler']} | {r['storage']} | {r['trial']} | {r['bare_cpu']['mean_ms']} ({r['bare']['mean_ms']}) | "
            f"{r['search_cpu']['mean_ms']} ({r['search']['mean_ms']}) | {r['overhead_cpu_mean_ms']} ({r['overhead_cpu_median_ms']}) | "
            f"{r['overhead_mean_ms']} ({r['overhead_median_ms']}) | {framework(r)} | {outside(r)} | {r.get('framework_over_bare_cpu_ms', '—')} | {r['resume_s']} |"
        )
    lines += before_after(rows, Path(args.before)) if args.before and Path(args.before).is_file() else []
    atomic_write_text(RESULTS / f"search_overhead{args.tag}.md", "\n".join(lines) + "\n")


def framework(row: dict) -> str:
    held = row.get("framework_cpu")
    return "—" if held is None else f"{held['mean_ms']} ({held['median_ms']})"


def outside(row: dict) -> str:
    held = row.get("bare_outside_sampler_cpu")
    return "—" if held is None else f"{held['mean_ms']} ({held['median_ms']})"


def before_after(rows: list[dict], path: Path) -> list[str]:
    """Mean overhead of this run beside an earlier run's, for the (sampler, storage, trial) both measured."""
    before = json.loads(path.read_text(encoding="utf-8"))
    earlier = {(r["sampler"], r["storage"], r["trial"]): r for r in before["runs"]}
    lines = [
        "",
        f"Before/after: mean overhead ms of `{path.name}` (host: {before['host']}; command: `{before['command']}`) and of this run.",
        "",
        "| sampler | storage | trial | before ms CPU (wall) | after ms CPU (wall) | framework ms CPU before | after |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        was = earlier.get((r["sampler"], r["storage"], r["trial"]))
        old = "—" if was is None else f"{was.get('overhead_cpu_mean_ms', '—')} ({was['overhead_mean_ms']})"
        lines.append(
            f"| {r['sampler']} | {r['storage']} | {r['trial']} | {old} | {r['overhead_cpu_mean_ms']} ({r['overhead_mean_ms']}) "
            f"| {'—' if was is None else framework(was)} | {framework(r)} |"
        )
    return lines


if __name__ == "__main__":
    main()
