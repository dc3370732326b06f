"""Trial records in and out of an Optuna storage in few queries: one transaction per trial, new trials only.

Optuna's ``RDBStorage.create_new_trial(template_trial=...)`` stores each parameter
with its own row lookup and a study-wide join that checks the distribution against
earlier trials: for one 109-parameter MobileDets trial on SQLite that is ~110
queries, 76-101 ms per trial on a 2-core EPYC (experiments/results/search_overhead_before.md),
against 3-6 ms for the bare sampler. ``create_trial`` adds the trial row, its parameters,
values and attributes in one session and one commit (2-4 ms on SQLite in WAL mode, same host).
Optuna's storage cache reads every trial back after it was written (3-4 ms a trial, same
host): ``new_finished_trials`` reads the ids of finished trials, then only the new ones.

Private API (``optuna.storages._rdb``: ``models``, ``_create_scoped_session``,
``RDBStorage._get_trials``): Optuna has no public bulk insert or incremental read. What is
written and read here is checked against Optuna's own ``create_new_trial`` and
``get_all_trials`` by tests/study/test_rdb.py, which fails if the models change. The
distribution check is skipped safely: every record of a study comes from the same search
space (the study name and its stored settings pin it, see ``load_or_create``).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, Collection, ContextManager, cast

import optuna
import sqlalchemy
from optuna.distributions import BaseDistribution, distribution_to_json
from optuna.trial import FrozenTrial, TrialState

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
CLAIMED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)  # what holds one of the --trials slots


class _Full(Exception):
    """The study already holds ``limit`` claimed trials: roll the insert back."""


def backend_of(storage: optuna.storages.BaseStorage) -> Any:
    return getattr(storage, "_backend", storage)  # Optuna wraps RDB storages in a cache


def create_trial(
    storage: optuna.storages.BaseStorage,
    study_id: int,
    template: FrozenTrial,
    *,
    limit: int | None = None,
    lock: ContextManager[Any] | None = None,
) -> int | None:
    """Store ``template`` as a new trial; its trial id, or None if the study already held ``limit`` claimed trials.

    This is the one place that decides whether a ``--trials`` slot is free. On an RDB storage the count
    runs in the insert's own transaction, after the new row took the write lock (SQLite) or the study
    row lock (``FOR UPDATE``, database servers), so concurrent workers cannot both take the last slot;
    on other storages ``lock`` (a file lock around the journal) makes count-and-append atomic.
    """
    backend = backend_of(storage)
    if not isinstance(backend, optuna.storages.RDBStorage):
        with lock or contextlib.nullcontext():
            if limit is not None and storage.get_n_trials(study_id, state=CLAIMED) >= limit:
                return None
            return storage.create_new_trial(study_id, template_trial=template)  # the journal appends one log line
    try:
        return _insert(backend, study_id, template, limit)
    except _Full:
        return None


def _insert(backend: optuna.storages.RDBStorage, study_id: int, template: FrozenTrial, limit: int | None) -> int:
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    studies, trials = models.StudyModel.__table__, models.TrialModel.__table__
    with _create_scoped_session(backend.scoped_session) as session:
        # the study row lock serialises trial numbers on database servers, as Optuna's own insert does
        if session.execute(sqlalchemy.select(studies.c.study_id).where(studies.c.study_id == study_id).with_for_update()).first() is None:
            raise KeyError(f"No study with study_id {study_id} exists.")
        row = {"study_id": study_id, "number": None, "state": TrialState.RUNNING}
        start, end = template.datetime_start, template.datetime_complete
        inserted = session.execute(sqlalchemy.insert(trials).values(**row, datetime_start=start))
        trial_id = int(cast(Any, inserted).inserted_primary_key[0])  # an INSERT's result is a CursorResult (typed as Result)
        claimed = sqlalchemy.case((trials.c.state.in_(CLAIMED), 1), else_=0)
        before, held = session.execute(
            sqlalchemy.select(sqlalchemy.func.count(), sqlalchemy.func.sum(claimed)).where(
                trials.c.study_id == study_id, trials.c.trial_id < trial_id
            )
        ).one()
        if limit is not None and (held or 0) >= limit:
            raise _Full  # rolled back by the session: nothing of this trial is stored
        values = [
            dict(zip(("value", "value_type"), models.TrialValueModel.value_to_stored_repr(v)), trial_id=trial_id, objective=i)
            for i, v in enumerate(template.values or [])
        ]
        params = [
            {
                "trial_id": trial_id,
                "param_name": name,
                "param_value": template.distributions[name].to_internal_repr(value),
                "distribution_json": _distribution_json(template.distributions[name]),
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
        done = {"number": before, "state": template.state, "datetime_complete": end}
        session.execute(sqlalchemy.update(trials).where(trials.c.trial_id == trial_id).values(**done))
    return trial_id


_JSON: dict[int, tuple[BaseDistribution, str]] = {}


def _distribution_json(distribution: BaseDistribution) -> str:
    """A search writes the same 109 distribution objects with every trial: encode each object once.

    Keyed by identity (the object is held, so its id stays its own): hashing a distribution costs as much as encoding it.
    """
    held = _JSON.get(id(distribution))
    if held is None or held[0] is not distribution:
        if len(_JSON) > 4096:
            _JSON.clear()
        held = _JSON[id(distribution)] = (distribution, distribution_to_json(distribution))
    return held[1]


def new_finished_trials(storage: optuna.storages.BaseStorage, study_id: int, known: Collection[int]) -> list[FrozenTrial]:
    """The study's finished trials whose id is not in ``known``: one id query, then those trials only."""
    backend = backend_of(storage)
    if not isinstance(backend, optuna.storages.RDBStorage):  # a journal replays only the log lines added since its last read
        return [t for t in storage.get_all_trials(study_id, deepcopy=False, states=FINISHED) if t._trial_id not in known]
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    with _create_scoped_session(backend.scoped_session) as session:
        ids = session.scalars(
            sqlalchemy.select(models.TrialModel.trial_id).where(
                models.TrialModel.study_id == study_id, models.TrialModel.state.in_(FINISHED)
            )
        ).all()
    new = {int(i) for i in ids} - set(known)
    if not new:
        return []
    return [t for t in backend._get_trials(study_id, FINISHED, new, max(new)) if t._trial_id in new]
