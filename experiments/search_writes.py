"""What one trial record costs the search's storages: the two hand-made write paths of ``nas/study`` justified by measurement.

    flock /work/logs/timing.lock taskset -c 1 python -m experiments.search_writes   # writes experiments/results/search_writes.md

Questions: (0) what does Optuna's own ``create_new_trial(template_trial=...)`` cost per trial there (why
``nas.study.rdb`` writes rows itself)? (1) on the default SQLite file (WAL, ``synchronous=NORMAL``), what does writing fast trials in
batches (``nas.study.rdb.create_trials`` with 10 records, as the worker does every half second) save over
one transaction per trial? (2) on an Optuna journal file, what does Optuna's stock ``JournalFileBackend``
(an ``fsync`` after every append) cost per record against ``nas.study.study``'s variant without it?
Method: records of mobiledet's 109 parameters with the attributes a search writes (arch string, YAML,
latency, worker), into fresh files under experiments/cache/ (the disk the searches use); 300 records per
batch size (SQLite) and 200 per backend (journal), each in two alternating passes; CPU and wall time.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock
from optuna.trial import FrozenTrial, TrialState

from experiments.search_overhead import host
from nas.io import atomic_write_text
from nas.space import get_space
from nas.study.rdb import create_trials
from nas.study.study import _journal_backend, open_storage

ROOT = Path(__file__).resolve().parents[1]
SPACE = get_space("mobiledet")
DISTRIBUTIONS: dict[str, BaseDistribution] = {name: CategoricalDistribution(list(choices)) for name, choices in SPACE.parameters.items()}
PARAMS = {name: choices[0] for name, choices in SPACE.parameters.items()}
ARCH = SPACE.sample(optuna.trial.FixedTrial(PARAMS))


def template() -> FrozenTrial:
    now = dt.datetime.now()
    return FrozenTrial(
        number=-1,
        state=TrialState.COMPLETE,
        value=None,
        values=[1.0, 2.0],
        datetime_start=now,
        datetime_complete=now,
        params=PARAMS,
        distributions=DISTRIBUTIONS,
        user_attrs={"arch": ARCH.to_string(), "yaml": ARCH.to_yaml(), "latency_ms": 1.0, "worker": "host:1"},
        system_attrs={"NSGAIISampler:generation": 3},
        intermediate_values={},
        trial_id=-1,
    )


def sqlite_batches(folder: Path, batch: int, trials: int = 300) -> tuple[float, float]:
    """(CPU ms, wall ms) per trial written in transactions of ``batch`` records."""
    storage = open_storage(f"sqlite:///{folder / f'batch{batch}-{time.time_ns()}.db'}")
    study = optuna.create_study(storage=storage, directions=["maximize", "minimize"])
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(0, trials, batch):
        create_trials(storage, study._study_id, [template() for _ in range(batch)], limit=10**6)
    return 1000 * (time.process_time() - cpu) / trials, 1000 * (time.perf_counter() - wall) / trials


def optuna_records(folder: Path, trials: int = 30) -> tuple[float, float]:
    """(CPU ms, wall ms) per trial of Optuna's own ``create_new_trial(template_trial=...)`` on the same SQLite set-up."""
    storage = open_storage(f"sqlite:///{folder / f'optuna-{time.time_ns()}.db'}")
    study = optuna.create_study(storage=storage, directions=["maximize", "minimize"])
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(trials):
        storage.create_new_trial(study._study_id, template_trial=template())
    return 1000 * (time.process_time() - cpu) / trials, 1000 * (time.perf_counter() - wall) / trials


def journal_records(folder: Path, backend: type, trials: int = 100) -> list[float]:
    """Wall ms of each record appended by ``backend`` (one trial per append, as the journal storage does)."""
    path = str(folder / f"{backend.__name__}-{time.time_ns()}.journal")
    storage = optuna.storages.JournalStorage(backend(path, lock_obj=JournalFileOpenLock(path)))
    study = optuna.create_study(storage=storage, directions=["maximize", "minimize"])
    times = []
    for _ in range(trials):
        start = time.perf_counter()
        create_trials(storage, study._study_id, [template()])
        times.append(1000 * (time.perf_counter() - start))
    return times


def main() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    load_before = os.getloadavg()
    cache = ROOT / "experiments" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        folder = Path(tmp)
        sqlite = {str(batch): [sqlite_batches(folder, batch) for _ in range(2)] for batch in (1, 10)}
        sqlite["Optuna's create_new_trial, 1"] = [optuna_records(folder) for _ in range(2)]
        journal: dict[str, list[float]] = {"Optuna's JournalFileBackend (fsync)": [], "nas.study's variant (no fsync)": []}
        for _ in range(2):
            for (name, times), backend in zip(journal.items(), (JournalFileBackend, _journal_backend())):
                times += journal_records(folder, backend)
    lines = [
        "# One trial record on the search's storages (mobiledet, 109 parameters)",
        "",
        f"Host: {host()}; load average before {[round(x, 2) for x in load_before]}, after {[round(x, 2) for x in os.getloadavg()]}.",
        "Command: `flock /work/logs/timing.lock taskset -c 1 python -m experiments.search_writes`.",
        "",
        "SQLite (WAL, synchronous=NORMAL): `nas.study.rdb.create_trials`, 300 records per pass, and Optuna's own",
        "`RDBStorage.create_new_trial(template_trial=...)`, 30 records per pass; two passes each:",
        "",
        "| writer, records per transaction | CPU ms per trial (passes) | wall ms per trial (passes) |",
        "|---:|---:|---:|",
    ]
    for batch, runs in sqlite.items():
        lines.append(f"| {batch} | {' / '.join(f'{c:.2f}' for c, _ in runs)} | {' / '.join(f'{w:.2f}' for _, w in runs)} |")
    lines += [
        "",
        "Journal file, one record per append, 200 records per backend:",
        "",
        "| backend | median wall ms | p10–p90 |",
        "|---|---:|---:|",
    ]
    for name, times in journal.items():
        deciles = statistics.quantiles(times, n=10)
        lines.append(f"| {name} | {statistics.median(times):.2f} | {deciles[0]:.2f}–{deciles[-1]:.2f} |")
    text = "\n".join(lines) + "\n"
    atomic_write_text(ROOT / "experiments" / "results" / "search_writes.md", text)
    print(text)


if __name__ == "__main__":
    main()
