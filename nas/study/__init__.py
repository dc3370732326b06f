"""Hardware-aware search: objectives, study set-up, the trial loop, results.

Public entry points: ``SearchContext.create(...)`` checks and loads the settings,
``search(context)`` runs the trials and writes the outputs (see ``nas.api.search``).
"""

from nas.study.context import DEFAULT_TRIALS, SearchContext
from nas.study.driver import SearchResult, finish, run_trials, search, summary
from nas.study.objectives import OBJECTIVES, Objective, get_objective
from nas.study.results import TrialRecord, choose_best, hypervolume, pareto_front, records
from nas.study.study import SAMPLERS, make_sampler, open_storage

__all__ = [
    "DEFAULT_TRIALS",
    "OBJECTIVES",
    "SAMPLERS",
    "Objective",
    "SearchContext",
    "SearchResult",
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
