"""nas.study.rdb writes and reads what Optuna's own storage API does; Optuna's heartbeat thread and the journal file (guards of private API)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.trial import FrozenTrial, TrialState

from nas.study.rdb import create_trial, create_trials, new_finished_trials
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


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_a_claim_beyond_the_limit_stores_nothing(tmp_path: Path, kind: str) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}" if kind == "sqlite" else str(tmp_path / "study.journal")
    study = optuna.create_study(storage=open_storage(url), study_name="s", directions=["maximize", "minimize"])
    first = create_trial(study._storage, study._study_id, _template(TrialState.RUNNING, None), limit=2)
    second = create_trial(study._storage, study._study_id, _template(TrialState.COMPLETE, [0.5, 2.0]), limit=2)
    failed = create_trial(study._storage, study._study_id, _template(TrialState.FAIL, None), limit=None)  # takes no slot
    assert None not in (first, second, failed)
    assert create_trial(study._storage, study._study_id, _template(TrialState.RUNNING, None), limit=2) is None
    assert create_trial(study._storage, study._study_id, _template(TrialState.COMPLETE, [1.0, 1.0]), limit=2) is None
    reread = optuna.load_study(study_name="s", storage=open_storage(url))
    assert [(t.number, t.state) for t in reread.trials] == [(0, TrialState.RUNNING), (1, TrialState.COMPLETE), (2, TrialState.FAIL)]
    study._storage.set_trial_state_values(first, TrialState.FAIL)  # a failed claim frees its slot
    assert create_trial(study._storage, study._study_id, _template(TrialState.COMPLETE, [1.0, 1.0]), limit=2) is not None


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_new_finished_trials_reads_only_the_finished_trials_not_yet_known(tmp_path: Path, kind: str) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}" if kind == "sqlite" else str(tmp_path / "study.journal")
    study = optuna.create_study(storage=open_storage(url), study_name="s", directions=["maximize", "minimize"])
    ids = [
        create_trial(study._storage, study._study_id, _template(state, values))
        for state, values in [
            (TrialState.COMPLETE, [0.5, 2.0]),
            (TrialState.RUNNING, None),
            (TrialState.FAIL, None),
            (TrialState.PRUNED, None),
        ]
    ]
    reader = open_storage(url)
    found = new_finished_trials(reader, study._study_id, known={ids[0]})
    assert [t._trial_id for t in found] == [ids[3]]
    theirs = {t._trial_id: t for t in optuna.load_study(study_name="s", storage=open_storage(url)).get_trials(deepcopy=False)}
    _same(found[0], theirs[ids[3]])
    study._storage.set_trial_state_values(ids[1], TrialState.COMPLETE, [1.0, 1.0])
    assert [t._trial_id for t in new_finished_trials(reader, study._study_id, known={ids[0], ids[3]})] == [ids[1]]
    assert new_finished_trials(reader, study._study_id, known=set(ids)) == []


def test_optunas_heartbeat_thread_beats_for_a_claimed_trial(tmp_path: Path) -> None:
    """The runner keeps a claimed trial alive with Optuna's private heartbeat thread: it must record beats."""
    import time

    from nas.study.runner import heartbeat_thread

    storage = open_storage(f"sqlite:///{tmp_path / 'study.db'}", heartbeat_s=1)
    study = optuna.create_study(storage=storage, study_name="s", directions=["maximize", "minimize"])
    trial_id = create_trial(study._storage, study._study_id, _template(TrialState.RUNNING, None))
    with heartbeat_thread(trial_id, study._storage):
        time.sleep(0.2)
    assert storage._get_stale_trial_ids(study._study_id) == []  # beaten: not stale
    with heartbeat_thread(None, study._storage):  # nothing claimed: nothing to beat for
        pass


def test_the_journal_file_without_fsync_is_read_by_optuna(tmp_path: Path) -> None:
    """``_journal_backend`` overrides ``append_logs`` with Optuna's private lock helpers; Optuna must read what it writes."""
    path = tmp_path / "study.journal"
    study = optuna.create_study(storage=open_storage(str(path)), study_name="s", directions=["maximize", "minimize"])
    create_trial(study._storage, study._study_id, _template(TrialState.COMPLETE, [0.5, 2.0]))
    backend = optuna.storages.journal.JournalFileBackend(str(path))
    trials = optuna.load_study(study_name="s", storage=optuna.storages.JournalStorage(backend)).trials
    assert len(trials) == 1 and trials[0].params == {"op": "fused", "k": 5, "w": None}


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_a_batch_takes_the_free_slots_in_order_and_failed_trials_take_none(tmp_path: Path, kind: str) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}" if kind == "sqlite" else str(tmp_path / "study.journal")
    study = optuna.create_study(storage=open_storage(url), study_name="s", directions=["maximize", "minimize"])
    states = [TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED, TrialState.COMPLETE, TrialState.FAIL]
    templates = [_template(state, [0.5, 2.0] if state == TrialState.COMPLETE else None) for state in states]
    ids = create_trials(study._storage, study._study_id, templates, limit=2)
    assert [i is None for i in ids] == [False, False, False, True, False]
    trials = {t._trial_id: t for t in optuna.load_study(study_name="s", storage=open_storage(url)).get_trials(deepcopy=False)}
    assert [(trials[i].number, trials[i].state) for i in ids if i is not None] == [
        (0, TrialState.COMPLETE),
        (1, TrialState.FAIL),
        (2, TrialState.PRUNED),
        (3, TrialState.FAIL),
    ]
    for i, template in zip(ids, templates):
        if i is not None:
            _same(trials[i], template)
