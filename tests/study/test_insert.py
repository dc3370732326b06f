"""The one-transaction trial insert writes what Optuna's own create_new_trial writes (guards its private API use)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.trial import FrozenTrial, TrialState

from nas.study.insert import create_trial
from nas.study.study import open_storage


def _template(state: TrialState, values: list[float] | None) -> FrozenTrial:
    now = dt.datetime(2026, 1, 2, 3, 4, 5)
    distributions = {
        "op": CategoricalDistribution(["mb", "fused", "tucker"]),
        "k": CategoricalDistribution([3, 5]),
        "w": CategoricalDistribution([0.5, 1.0, None]),
    }
    return FrozenTrial(
        number=-1,
        state=state,
        value=None,
        values=values,
        datetime_start=now,
        datetime_complete=None if state == TrialState.RUNNING else now,
        params={"op": "fused", "k": 5, "w": None},
        distributions=distributions,
        user_attrs={"arch": "x", "latency_ms": 1.25, "nested": {"a": [1, 2]}},
        system_attrs={"nsga2:generation": 0},
        intermediate_values={},
        trial_id=-1,
    )


def _same(a: FrozenTrial, b: FrozenTrial) -> None:
    for field in ("state", "params", "distributions", "user_attrs", "system_attrs", "datetime_start", "datetime_complete"):
        assert getattr(a, field) == getattr(b, field), field
    assert (a.values is None) == (b.values is None)
    if a.values is not None:
        assert [v if not math.isinf(v) else str(v) for v in a.values] == [v if not math.isinf(v) else str(v) for v in b.values]


@pytest.mark.parametrize(
    ("state", "values"),
    [(TrialState.COMPLETE, [0.5, 2.0]), (TrialState.COMPLETE, [float("inf"), -1.0]), (TrialState.RUNNING, None), (TrialState.FAIL, None)],
)
def test_insert_matches_optunas_create_new_trial(tmp_path: Path, state: TrialState, values: list[float] | None) -> None:
    storage = open_storage(f"sqlite:///{tmp_path / 'study.db'}")
    study = optuna.create_study(storage=storage, study_name="s", directions=["maximize", "minimize"])
    ours = create_trial(study._storage, study._study_id, _template(state, values))
    theirs = study._storage.create_new_trial(study._study_id, template_trial=_template(state, values))
    again = create_trial(study._storage, study._study_id, _template(state, values))
    reread = optuna.load_study(study_name="s", storage=open_storage(f"sqlite:///{tmp_path / 'study.db'}"))
    trials = {t._trial_id: t for t in reread.get_trials(deepcopy=False)}
    _same(trials[ours], trials[theirs])
    assert [trials[i].number for i in (ours, theirs, again)] == [0, 1, 2]
    if state == TrialState.RUNNING:  # a claimed trial is finished later through Optuna's API as usual
        study._storage.set_trial_state_values(ours, TrialState.COMPLETE, [1.0, 2.0])
        assert reread._storage.get_trial(ours).state == TrialState.COMPLETE


def test_insert_on_a_journal_is_optunas_own(tmp_path: Path) -> None:
    study = optuna.create_study(storage=open_storage(str(tmp_path / "study.journal")), directions=["maximize", "minimize"])
    trial_id = create_trial(study._storage, study._study_id, _template(TrialState.COMPLETE, [0.5, 2.0]))
    assert study.trials[0]._trial_id == trial_id and study.trials[0].params == {"op": "fused", "k": 5, "w": None}
