"""Hardware-aware search: objectives, study set-up, the trial loop, results.

``SearchSettings`` holds the checked options, ``SearchContext.create(...)`` loads them,
``search(context)`` runs the trials and writes the outputs (see ``nas.api.search``).
"""

from nas.records import TrialRecord, hypervolume, records
from nas.study.context import SearchContext
from nas.study.driver import SearchResult, finish, run_trials, search
from nas.study.objectives import OBJECTIVES, Objective, get_objective
from nas.study.settings import SearchSettings
from nas.study.study import SAMPLERS, make_sampler, open_storage

__all__ = [
    "OBJECTIVES",
    "SAMPLERS",
    "Objective",
    "SearchContext",
    "SearchResult",
    "SearchSettings",
    "TrialRecord",
    "finish",
    "get_objective",
    "hypervolume",
    "make_sampler",
    "open_storage",
    "records",
    "run_trials",
    "search",
]
