"""Hardware-aware search: objectives, study set-up, the trial loop, results.

Public entry points: ``SearchSettings`` holds the checked options, ``SearchContext.create(...)`` loads them,
``search(context)`` runs the trials and writes the outputs (see ``nas.api.search``).
"""

from nas.study.context import SearchContext
from nas.study.settings import DEFAULT_TRIALS, SearchSettings
from nas.study.driver import SearchResult, finish, run_trials, search, summary
from nas.study.objectives import OBJECTIVES, Objective, get_objective
from nas.records import TrialRecord, choose_best, hypervolume, pareto_front, records
from nas.study.study import SAMPLERS, make_sampler, open_storage

__all__ = [
    "DEFAULT_TRIALS",
    "OBJECTIVES",
    "SAMPLERS",
    "Objective",
    "SearchContext",
    "SearchResult",
    "SearchSettings",
    "TrialRecord",
    "choose_best",
    "finish",
    "get_objective",
    "hypervolume",
    "make_sampler",
    "open_storage",
    "pareto_front",
    "records",
    "run_trials",
    "search",
    "summary",
]
