"""Re-ranking a search's finalists on a precise score of the same proxy.

A proxy with ``rescore`` (the supernet: top-1 on the whole validation split instead of the screening sample)
scores every candidate cheaply during the search; afterwards the ``--finalists`` best distinct networks within
the budget are scored again precisely, and the chosen network is the best of them on that score
(``nas.records.choose_best``). Off by default (``--finalists 0``), as measured on NAS-Bench-Macro by
experiments/supernet_regret.py ``--rescore 10`` (constrained NSGA-II searches of 200 trials at the budgets that split
the benchmark at 25 / 50 / 75 %, 3 seeds, median regret in points of 50-epoch accuracy): with the proxy's default
screen of 500 validation images, 0.42 / 0.39 / 0.34 without and 0.42 / 0.41 / 0.33 with the 10 finalists re-scored on
5,000 (results/supernet_regret_rescore.md), no gain; with a screen of 250 images, 0.58 / 0.80 / 0.22 without and
0.58 / 0.30 / 0.34 with (results/supernet_regret_rescore250.md). It pays where the screen is coarse.

The precise scores are kept in the study (user attribute ``nas.records.FINALISTS_ATTR``), so ``nas-export
--trial best`` chooses the same network and a resumed search re-scores only new finalists.
"""

from __future__ import annotations

from typing import Any, Sequence

import optuna
from tqdm import tqdm

from nas.records import FINALISTS_ATTR, TrialRecord, records


def finalists(rows: Sequence[TrialRecord], budget_ms: float | None, count: int) -> list[TrialRecord]:
    """The ``count`` best complete trials within the budget by score (ties: faster), one per distinct network."""
    ranked = sorted(
        (r for r in rows if r.complete and r.score is not None and (budget_ms is None or r.latency_ms <= budget_ms)),
        key=lambda r: (-(r.score or 0.0), r.latency_ms),
    )
    chosen: dict[str, TrialRecord] = {}
    for row in ranked:
        chosen.setdefault(row.arch, row)
        if len(chosen) == count:
            break
    return list(chosen.values())


def rescore_finalists(
    study: optuna.Study, rows: list[TrialRecord], *, context: Any, budget_ms: float | None, progress: bool = True
) -> list[TrialRecord]:
    """``rows`` with the finalists' precise scores (re-read from the study); unchanged when the proxy cannot re-score."""
    rescore = getattr(context.proxy, "rescore", None)
    if rescore is None or context.settings.finalists == 0 or context.data is None:
        return rows
    stored = dict(study.user_attrs.get(FINALISTS_ATTR, {}))
    todo = [r for r in finalists(rows, budget_ms, context.settings.finalists) if str(r.number) not in stored]
    objective = context.objective
    for row in tqdm(todo, desc="re-scoring finalists", unit="net", disable=not progress or not todo, dynamic_ncols=True):
        proxy = float(rescore(row.arch_spec(), seed=context.proxy_seed, data=context.data))
        stored[str(row.number)] = [proxy, objective.score(objective.values(proxy, row.latency_ms))]
        study.set_user_attr(FINALISTS_ATTR, stored)  # after each: a killed run keeps what it re-scored
    return records(study) if todo else rows
