"""Write one whole trial record to an RDB storage in a single transaction.

Optuna's ``RDBStorage.create_new_trial(template_trial=...)`` stores each parameter
with its own row lookup and a study-wide join that checks the distribution against
earlier trials: for one 109-parameter MobileDets trial on SQLite that is ~110
queries, 76-101 ms per trial on a 2-core EPYC (experiments/results/search_overhead_before.md),
against 3-6 ms for the bare sampler. Here the trial row, its parameters, values and
attributes are added in one session and one commit, so a record costs a few ms.

Private API (``optuna.storages._rdb``: ``models``, ``_create_scoped_session``): Optuna
has no public bulk insert. The row layout written here is checked against Optuna's own
``create_new_trial`` by tests/study/test_insert.py, which fails if the models change.
The distribution check is skipped safely: every record of a study comes from the same
search space (the study name and its stored settings pin it, see ``load_or_create``).
"""

from __future__ import annotations

import json

import optuna
import sqlalchemy
from optuna.distributions import distribution_to_json
from optuna.trial import FrozenTrial, TrialState


def create_trial(storage: optuna.storages.BaseStorage, study_id: int, template: FrozenTrial) -> int:
    """Store ``template`` as a new trial of the study; return its trial id (any storage)."""
    backend = getattr(storage, "_backend", storage)  # Optuna wraps RDB storages in a cache that reads new trials itself
    if not isinstance(backend, optuna.storages.RDBStorage):
        return storage.create_new_trial(study_id, template_trial=template)  # the journal appends one log line already
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    with _create_scoped_session(backend.scoped_session) as session:
        models.StudyModel.find_or_raise_by_id(study_id, session, for_update=True)  # serialises trial numbers, as Optuna does
        trial = models.TrialModel(
            study_id=study_id,
            number=None,
            state=TrialState.RUNNING,
            datetime_start=template.datetime_start,
            datetime_complete=template.datetime_complete,
        )
        session.add(trial)
        session.flush()
        trial_id = int(trial.trial_id)
        values = [
            dict(zip(("value", "value_type"), models.TrialValueModel.value_to_stored_repr(v)), trial_id=trial_id, objective=i)
            for i, v in enumerate(template.values or [])
        ]
        params = [
            {
                "trial_id": trial_id,
                "param_name": name,
                "param_value": template.distributions[name].to_internal_repr(value),
                "distribution_json": distribution_to_json(template.distributions[name]),
            }
            for name, value in template.params.items()
        ]
        user = [{"trial_id": trial_id, "key": key, "value_json": json.dumps(value)} for key, value in template.user_attrs.items()]
        system = [{"trial_id": trial_id, "key": key, "value_json": json.dumps(value)} for key, value in template.system_attrs.items()]
        for model, rows in (
            (models.TrialValueModel, values),
            (models.TrialParamModel, params),
            (models.TrialUserAttributeModel, user),
            (models.TrialSystemAttributeModel, system),
        ):
            if rows:  # one executemany per table, not one ORM object and INSERT per row
                session.execute(sqlalchemy.insert(model.__table__), rows)
        trial.state = template.state
        trial.number = trial.count_past_trials(session)
        session.add(trial)
    return trial_id
