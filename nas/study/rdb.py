"""Trial records in and out of an Optuna storage in few queries: one transaction per trial, new trials only.

Optuna's ``RDBStorage.create_new_trial(template_trial=...)`` stores each parameter
with its own row lookup and a study-wide join that checks the distribution against
earlier trials: for one 109-parameter MobileDets trial on SQLite that is ~110
queries, 102-112 ms CPU per trial on a 2-core EPYC, against 5.9-6.1 ms here with one trial per
transaction and 3.6-3.8 ms in transactions of 10 (experiments/results/search_writes.md; the bare
NSGA-II sampler takes 4-8 ms). ``create_trial`` adds the trial row, its parameters,
values and attributes in one session and one commit, and a worker writes the records of fast
trials in batches (``create_trials``: one transaction for all trials finished in the last half second).
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
from typing import Any, Collection, ContextManager, Sequence, cast

import optuna
import sqlalchemy
from optuna.distributions import BaseDistribution, distribution_to_json
from optuna.trial import FrozenTrial, TrialState

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
CLAIMED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)  # what holds one of the --trials slots


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
    """``create_trials`` for one trial: its trial id, or None if no slot was free."""
    return create_trials(storage, study_id, [template], limit=limit, lock=lock)[0]


def create_trials(
    storage: optuna.storages.BaseStorage,
    study_id: int,
    templates: Sequence[FrozenTrial],
    *,
    limit: int | None = None,
    lock: ContextManager[Any] | None = None,
) -> list[int | None]:
    """Store ``templates`` as new trials, in order: each one's trial id, or None where no slot was free.

    This is the one place that decides whether a ``--trials`` slot is free: a COMPLETE, PRUNED or
    RUNNING template takes one while the study holds fewer than ``limit`` such trials (a failed one
    takes none). On an RDB storage the count runs in the insert's own transaction, after a no-op
    write on the study row took the write lock (SQLite) or the row lock (database servers), so
    concurrent workers cannot both take the last slot; on a journal ``lock`` (a file lock) makes
    count-and-append atomic.
    """
    backend = backend_of(storage)
    if isinstance(backend, optuna.storages.RDBStorage):
        return _insert(backend, study_id, templates, limit)
    ids: list[int | None] = []
    with lock or contextlib.nullcontext():
        held = storage.get_n_trials(study_id, state=CLAIMED) if limit is not None else 0
        for template in templates:
            takes = template.state in CLAIMED
            if limit is not None and takes and held >= limit:
                ids.append(None)
                continue
            held += takes
            ids.append(storage.create_new_trial(study_id, template_trial=template))  # the journal appends one log line
    return ids


def _insert(backend: optuna.storages.RDBStorage, study_id: int, templates: Sequence[FrozenTrial], limit: int | None) -> list[int | None]:
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    studies, trials = models.StudyModel.__table__, models.TrialModel.__table__
    ids: list[int | None] = []
    rows: dict[Any, list[dict[str, Any]]] = {
        models.TrialValueModel: [],
        models.TrialParamModel: [],
        models.TrialUserAttributeModel: [],
        models.TrialSystemAttributeModel: [],
    }
    with _create_scoped_session(backend.scoped_session) as session:
        study = studies.c.study_id == study_id
        locked = session.execute(sqlalchemy.update(studies).where(study).values(study_name=studies.c.study_name))
        if cast(Any, locked).rowcount == 0:  # an UPDATE's result is a CursorResult (typed as Result)
            raise KeyError(f"No study with study_id {study_id} exists.")
        claimed = sqlalchemy.case((trials.c.state.in_(CLAIMED), 1), else_=0)
        count = sqlalchemy.select(sqlalchemy.func.count(), sqlalchemy.func.sum(claimed)).where(trials.c.study_id == study_id)
        number, held = session.execute(count).one()
        held = held or 0
        for template in templates:
            takes = template.state in CLAIMED
            if limit is not None and takes and held >= limit:
                ids.append(None)
                continue
            held += takes
            row = {"study_id": study_id, "number": number, "state": template.state}
            times = {"datetime_start": template.datetime_start, "datetime_complete": template.datetime_complete}
            trial_id = int(cast(Any, session.execute(sqlalchemy.insert(trials).values(**row, **times))).inserted_primary_key[0])
            ids.append(trial_id)
            number += 1
            rows[models.TrialValueModel] += [
                dict(zip(("value", "value_type"), models.TrialValueModel.value_to_stored_repr(v)), trial_id=trial_id, objective=i)
                for i, v in enumerate(template.values or [])
            ]
            rows[models.TrialParamModel] += [
                {
                    "trial_id": trial_id,
                    "param_name": name,
                    "param_value": template.distributions[name].to_internal_repr(value),
                    "distribution_json": _distribution_json(template.distributions[name]),
                }
                for name, value in template.params.items()
            ]
            for model, attrs in (
                (models.TrialUserAttributeModel, template.user_attrs),
                (models.TrialSystemAttributeModel, template.system_attrs),
            ):
                rows[model] += [{"trial_id": trial_id, "key": key, "value_json": json.dumps(value)} for key, value in attrs.items()]
        for model, table_rows in rows.items():
            if table_rows:  # one executemany per table for the whole batch, not one ORM object and INSERT per row
                session.execute(sqlalchemy.insert(model.__table__), table_rows)
    return ids


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


def count_trials(storage: optuna.storages.BaseStorage, study_id: int, states: Collection[TrialState] | None = None) -> int:
    """How many trials of the study are in ``states`` (all when None), counted by the database.

    Optuna's ``get_n_trials`` builds every trial first (``get_all_trials``): 20 s for a resumed
    1,900-trial study of 109 parameters on SQLite (2-core EPYC, experiments/search_overhead.py --profile).
    """
    backend = backend_of(storage)
    if not isinstance(backend, optuna.storages.RDBStorage):
        return len(storage.get_all_trials(study_id, deepcopy=False, states=states))
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    query = sqlalchemy.select(sqlalchemy.func.count()).where(models.TrialModel.study_id == study_id)
    if states is not None:
        query = query.where(models.TrialModel.state.in_(list(states)))
    with _create_scoped_session(backend.scoped_session) as session:
        return int(session.execute(query).scalar_one())


def trials_in(storage: optuna.storages.BaseStorage, study_id: int, states: Collection[TrialState]) -> list[FrozenTrial]:
    """The study's trials in ``states`` only (Optuna's cache re-reads the whole study for any filter)."""
    backend = backend_of(storage)
    source = backend if isinstance(backend, optuna.storages.RDBStorage) else storage
    return source.get_all_trials(study_id, deepcopy=False, states=tuple(states))


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
