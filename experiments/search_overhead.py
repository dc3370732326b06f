"""Search overhead: a latency-only nas-search (--proxy macs) against the bare Optuna sampler on the same space.

bare  = in-memory Optuna study, same sampler and seed, objective = one suggest per parameter
        of the space, returning two cheap numbers (sum of choice indices) — the sampler's own time;
search = nas.study.run_trials: sample → ArchSpec → table latency → MACs → study records, once with an
        Optuna journal file (--storage OUT/study.journal, what large searches should use) and once with
        the default SQLite file (about 50 ms per 109-parameter trial record on this machine).
Run: taskset -c 0 python experiments/search_overhead.py  (writes experiments/results/search_overhead.json)
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import optuna
import torch

from nas.study import SearchContext, make_sampler, run_trials
from nas.space import get_space

RESULTS = Path(__file__).resolve().parent / "results"
RUNS = {"nsga2": 2000, "tpe": 500}  # TPE's own cost grows with the trial count (~0.1 s/trial): 500 keeps the run short


def bare(sampler: str, trials: int) -> float:
    space = get_space("mobiledet")
    params = space.parameters

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        picks = [values.index(trial.suggest_categorical(name, list(values))) for name, values in params.items()]
        return float(sum(picks)), float(sum(picks[::2]))

    study = optuna.create_study(directions=["maximize", "minimize"], sampler=make_sampler(sampler, seed=0))
    start = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    return time.perf_counter() - start


def search(sampler: str, trials: int, storage: str) -> float:
    with tempfile.TemporaryDirectory() as folder:
        url = f"{folder}/study.journal" if storage == "journal" else f"sqlite:///{folder}/study.db"
        context = SearchContext.create(device="cpu", proxy="macs", sampler=sampler, trials=trials, seed=0, out=folder, storage=url)
        start = time.perf_counter()
        run_trials(context, progress=False)
        return time.perf_counter() - start


def main() -> None:
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    only = sys.argv[1:] or list(RUNS)
    rows = []
    for sampler in only:
        trials = RUNS[sampler]
        b = bare(sampler, trials)
        for storage in ("journal", "sqlite"):
            s = search(sampler, trials, storage)
            rows.append({"sampler": sampler, "storage": storage, "trials": trials, "bare_s": round(b, 2), "search_s": round(s, 2),
                         "overhead_s": round(s - b, 2), "bare_ms_per_trial": round(1000 * b / trials, 2),
                         "search_ms_per_trial": round(1000 * s / trials, 2), "overhead_ms_per_trial": round(1000 * (s - b) / trials, 2)})
            print(rows[-1], flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "search_overhead.json").write_text(json.dumps({"space": "mobiledet", "device": "cpu", "proxy": "macs", "runs": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
