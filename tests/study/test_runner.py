"""Guards of the private Optuna API the trial loop uses (nas.study.runner.tell)."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from nas.study.runner import tell


def test_tell_finishes_the_trial_as_study_tell_does() -> None:
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    trial.suggest_categorical("k", [3, 5])
    tell(study, trial, TrialState.COMPLETE, [1.0, 2.0])
    failed = study.ask()
    tell(study, failed, TrialState.FAIL, None)
    assert [(t.state, t.values) for t in study.trials] == [(TrialState.COMPLETE, [1.0, 2.0]), (TrialState.FAIL, None)]
    assert study.trials[0].params == {"k": study.trials[0].params["k"]} and study.best_trials[0].number == 0
