"""The search loop: sample in memory, price with the table, score with the proxy, persist each trial.

Optuna writes every ``suggest`` of a stored study to its storage (``study.optimize`` or ``ask`` on it):
for a 109-parameter space that costs 87 ms (journal) to 170 ms (SQLite) per trial on a 2-core EPYC,
against 3-10 ms for the bare sampler. Each worker therefore asks and tells an in-memory *mirror*
study (same sampler, same directions) and writes each trial to the shared storage as whole records
(``nas.study.rdb.create_trials``). When the proxy is slow (last one took ≥ 50 ms) or other hosts share
the study, a trial is recorded when it starts (RUNNING, with its arch, latency, params and MACs: a
*claim* on one of the ``--trials`` slots, kept alive by Optuna's heartbeat thread on RDB storages) and
finished when it ends, so a killed run leaves a RUNNING trial the next run marks failed. When the proxy
is fast, a trial is recorded once when it ends, with the others of the last ``FLUSH_SECONDS`` in one
transaction (a kill then loses at most that half second of fast trials; a rerun runs them again):
one transaction per trial cost 2.3 ms CPU a trial more than batches of 10 on SQLite
(experiments/results/search_writes.md), about the layer's whole overhead over the bare sampler.
Every ``SYNC_SECONDS`` the mirror takes in the trials other workers (and earlier runs) finished,
reading only those (``new_finished_trials``), so resuming and several workers see the whole study at
a cost that does not grow with it.

``--trials`` is the study's total, also when several processes or hosts share it: ``create_trials``
stores a trial only while the study holds fewer COMPLETE + PRUNED + RUNNING trials than the total
(the count runs in the insert's transaction), so concurrent workers never overshoot.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import socket
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.trial import FrozenTrial, TrialState

from nas.counting import count
from nas.errors import NasError
from nas.study.context import SearchContext
from nas.study.rdb import FINISHED, count_trials, create_trials, new_finished_trials, trials_in
from nas.study.settings import SearchSettings
from nas.study.study import fail_stale_trials, folder_lock, heartbeat_on, is_server, journal_path, make_sampler, worker_id

MAX_FAILURES_IN_A_ROW = 20
RECORD_AT_START_S = 0.05  # proxies faster than this: one record per trial, written when it ends
SYNC_SECONDS = 2.0
FLUSH_SECONDS = 0.5  # records of fast trials are written in one transaction this often


@dataclass
class WorkerStats:
    complete: int = 0
    pruned: int = 0
    reasons: list[str] = field(default_factory=list)


def count_finished(study: optuna.Study) -> int:
    """Trials that count towards ``--trials``: complete and pruned ones (failed trials are retried)."""
    return count_trials(study._storage, study._study_id, FINISHED)


def heartbeat_thread(trial_id: int | None, storage: Any) -> Any:
    """Optuna's own heartbeat thread for a claimed trial (``study.optimize`` runs the same one).

    Private API (``optuna.storages._heartbeat.get_heartbeat_thread``; a no-op without a heartbeat),
    guarded by tests/study/test_rdb.py::test_optunas_heartbeat_thread_beats_for_a_claimed_trial.
    """
    from optuna.storages._heartbeat import get_heartbeat_thread

    return contextlib.nullcontext() if trial_id is None else get_heartbeat_thread(trial_id, storage)


def tell(study: optuna.Study, trial: optuna.Trial, state: TrialState, values: list[float] | None) -> None:
    """``study.tell`` without the deep copy of the told trial it returns (what ``study.optimize`` calls).

    That copy cost 0.85 ms CPU a trial for mobiledet's 109 parameters (2-core EPYC), a fifth of the
    layer's whole overhead over the bare sampler (experiments/results/search_overhead.md). Private API
    (``optuna.study._tell._tell_with_warning``), guarded by tests/study/test_runner.py.
    """
    from optuna.study._tell import _tell_with_warning

    _tell_with_warning(study=study, trial=trial, value_or_values=values, state=state)


class Worker:
    """One process's share of a search over one shared study."""

    def __init__(self, *, context: SearchContext, index: int = 0) -> None:
        self.context, self.settings = context, context.settings
        self.total = context.settings.trials
        self.study = context.open_study()
        self.storage, self.study_id = self.study._storage, self.study._study_id
        self.worker = worker_id()
        self.known: set[int] = set()  # finished trials the mirror holds (its own and synced ones)
        self.shared = is_server(context.storage_url)  # other hosts may add trials: every trial is a claim
        journal = journal_path(context.storage_url)
        self.lock = (lambda: folder_lock(journal.resolve().parent)) if journal is not None else contextlib.nullcontext
        # reseed on resume, so that a seeded random or NSGA-II sampler does not replay the first trials; on a
        # server, hosts started with the same command must not all draw the same candidates
        host = zlib.crc32(self.worker.encode()) if self.shared else 0
        seed = self.settings.seed
        if seed is not None:
            seed = (seed + count_trials(self.storage, self.study_id) + 1_000_003 * index + host) % 2**32
        directions = context.objective.directions
        pruner = optuna.pruners.MedianPruner(n_startup_trials=5) if len(directions) == 1 else optuna.pruners.NopPruner()
        sampler = make_sampler(self.settings.sampler, seed=seed, population=context.population)
        self.mirror = optuna.create_study(directions=directions, sampler=sampler, pruner=pruner)
        self.distributions: dict[str, BaseDistribution] = {
            name: CategoricalDistribution(list(choices)) for name, choices in context.space.parameters.items()
        }
        self.proxy_seconds = float("inf")  # unknown until the first trial: record at start
        self.pending: list[FrozenTrial] = []  # records of fast trials, not yet written
        self.synced_at = self.flushed_at = 0.0
        self.sync(force=True)

    def sync(self, *, force: bool = False) -> None:
        """Copy the trials other workers and earlier runs finished since the last sync into the mirror."""
        if not force and time.monotonic() - self.synced_at < SYNC_SECONDS:
            return
        self.synced_at = time.monotonic()
        self.flush()
        for trial in new_finished_trials(self.storage, self.study_id, self.known):
            self.known.add(trial._trial_id)
            if trial.user_attrs.get("worker") != self.worker:
                self.mirror.add_trial(trial)

    def run(self, *, quota: int, deadline: float | None = None, on_trial: Callable[[TrialState], None] | None = None) -> WorkerStats:
        """Run until ``quota`` trials finished here, the study holds ``--trials``, or the deadline passed."""
        stats, in_a_row = WorkerStats(), 0
        try:
            while True:
                if stats.complete + stats.pruned >= quota or (deadline is not None and time.time() >= deadline):
                    if self.flush(stats) and self.wait_for_slot(deadline):
                        continue  # pending records found the study full while another worker's trials still ran
                    break
                self.sync()
                if len(self.known) >= self.total and self.settings.workers > 1:
                    break
                state = self.trial(reasons=stats.reasons)
                if state is None:  # every remaining slot is claimed by a running trial
                    if self.wait_for_slot(deadline):
                        continue
                    break
                in_a_row = in_a_row + 1 if state == TrialState.FAIL else 0
                stats.complete += state == TrialState.COMPLETE
                stats.pruned += state == TrialState.PRUNED
                if in_a_row >= MAX_FAILURES_IN_A_ROW:
                    raise NasError(f"{in_a_row} trials in a row failed; last reason: {stats.reasons[-1] if stats.reasons else '?'}")
                if on_trial is not None:
                    on_trial(state)
                if time.monotonic() - self.flushed_at >= FLUSH_SECONDS and self.flush(stats) and not self.wait_for_slot(deadline):
                    break  # the study is full: other workers finished the last slots first
        finally:
            self.flush(stats)
        return stats

    def flush(self, stats: WorkerStats | None = None) -> int:
        """Write the pending records of fast trials in one transaction; how many found no free slot (dropped)."""
        self.flushed_at = time.monotonic()
        if not self.pending:
            return 0
        pending, self.pending = self.pending, []
        ids = create_trials(self.storage, self.study_id, pending, limit=self.total, lock=self.lock())
        self.known.update(trial_id for trial_id, t in zip(ids, pending) if trial_id is not None and t.state in FINISHED)
        dropped = [t.state for trial_id, t in zip(ids, pending) if trial_id is None]
        if stats is not None:
            stats.complete -= dropped.count(TrialState.COMPLETE)
            stats.pruned -= dropped.count(TrialState.PRUNED)
        return len(dropped)

    def wait_for_slot(self, deadline: float | None) -> bool:
        """The last slots are held by running trials: wait for them to end or be failed as stale (then retry)."""
        if count_finished(self.study) >= self.total or (deadline is not None and time.time() >= deadline):
            return False
        host = socket.gethostname()
        running = trials_in(self.storage, self.study_id, (TrialState.RUNNING,))
        if not heartbeat_on(self.storage) and any(str(t.user_attrs.get("worker", "")).rpartition(":")[0] != host for t in running):
            return False  # another host's trial on a file storage: nothing here can tell whether it still runs
        time.sleep(SYNC_SECONDS)
        fail_stale_trials(self.study)
        return True

    def trial(self, *, reasons: list[str]) -> TrialState | None:
        """One candidate: sample, price, claim (record as RUNNING), score, record the outcome.

        None: no slot was free (the study holds ``--trials`` trials, running ones included).
        """
        context, trial = self.context, self.mirror.ask()
        arch = context.space.sample(trial)
        latency = context.table.latency(arch)
        cost = count(arch)
        attrs: dict[str, Any] = {
            "arch": arch.to_string(),
            "yaml": arch_yaml(arch),
            "latency_ms": latency,
            "params": cost.params,
            "macs": cost.macs,
            "worker": self.worker,
        }
        constraint = context.objective.constraint(latency)
        if constraint is not None:  # Optuna's constraint API: feasible when <= 0
            attrs["constraint"] = constraint
            trial.set_constraint("latency", constraint[0])
        trial_id = None
        if self.shared or self.proxy_seconds >= RECORD_AT_START_S:  # claim now: a kill leaves a RUNNING trial to fail
            self.flush()
            trial_id = create_trials(
                self.storage, self.study_id, [self.record(trial, attrs, TrialState.RUNNING, None)], limit=self.total, lock=self.lock()
            )[0]
            if trial_id is None:
                tell(self.mirror, trial, TrialState.FAIL, None)
                return None

        def report(step: int, accuracy: float) -> bool:
            if len(context.objective.directions) > 1:
                return False  # Optuna prunes single-objective studies only
            trial.report(accuracy, step)
            if trial_id is not None:
                self.storage.set_trial_intermediate_value(trial_id, step, accuracy)
            return trial.should_prune()

        from nas.proxies import ProxyError, ProxyPruned

        start = time.perf_counter()
        outcome: tuple[TrialState, list[float] | None, dict[str, Any]]
        try:
            with heartbeat_thread(trial_id, self.storage):
                result = context.proxy.evaluate(arch, seed=context.proxy_seed, data=context.data, report=report)
            outcome = TrialState.COMPLETE, context.objective.values(result.score, latency), {"proxy": [result.score, result.seconds]}
        except ProxyPruned as pruned:
            outcome = TrialState.PRUNED, None, {"pruned": str(pruned)}
        except ProxyError as error:
            reasons.append(str(error))
            outcome = TrialState.FAIL, None, {"fail_reason": str(error)}
        except BaseException as error:  # a bug or Ctrl-C: record why, then stop the search
            self.finish(trial, trial_id, attrs, TrialState.FAIL, None, {"fail_reason": f"{type(error).__name__}: {error}"[:500]})
            raise
        self.proxy_seconds = time.perf_counter() - start
        return self.finish(trial, trial_id, attrs, *outcome)

    def record(self, trial: optuna.Trial, attrs: dict[str, Any], state: TrialState, values: list[float] | None) -> FrozenTrial:
        """The storage record of a mirror trial, with the sampler's system attrs (NSGA-II generation, constraints)."""
        now = _dt.datetime.now()
        return FrozenTrial(
            number=-1,
            state=state,
            value=None,
            values=values,
            datetime_start=now,
            datetime_complete=None if state == TrialState.RUNNING else now,
            params=dict(trial.params),
            distributions=self.distributions,
            user_attrs=attrs,
            system_attrs=dict(trial.storage.get_trial_system_attrs(trial._trial_id)),
            intermediate_values={},
            trial_id=-1,
        )

    def finish(
        self,
        trial: optuna.Trial,
        trial_id: int | None,
        attrs: dict[str, Any],
        state: TrialState,
        values: list[float] | None,
        extra: dict[str, Any],
    ) -> TrialState:
        """Write the outcome: one pending record for a trial not yet stored (see ``flush``), else its extra attrs and final state."""
        if trial_id is None:  # a fast trial takes its slot only when its record is written (a failed one takes none)
            self.pending.append(self.record(trial, {**attrs, **extra}, state, values))
        else:
            try:
                for key, value in extra.items():
                    self.storage.set_trial_user_attr(trial_id, key, value)
                self.storage.set_trial_state_values(trial_id, state, values)
            except optuna.exceptions.UpdateFinishedTrialError:  # another worker failed it as stale (heartbeat late)
                state, values = TrialState.FAIL, None
        tell(self.mirror, trial, state, values)
        if state in FINISHED and trial_id is not None:  # ``known``: finished trials only (failed ones do not count)
            self.known.add(trial_id)
        return state


def arch_yaml(arch: Any) -> str:
    """The arch's YAML form, one flow mapping per block (JSON-style scalars are valid YAML).

    ``arch.to_yaml()`` through PyYAML costs 4 ms per trial, more than the rest of a
    latency-only trial; this costs 0.3 ms and loads back to the same ArchSpec.
    """
    lines = []
    for key, value in arch.to_dict().items():
        lines += ["blocks:", *(f"- {json.dumps(block)}" for block in value)] if key == "blocks" else [f"{key}: {json.dumps(value)}"]
    return "\n".join(lines) + "\n"


def run_worker_process(settings: dict[str, Any], index: int, quota: int, deadline: float | None) -> WorkerStats:
    """Entry point of a ``--workers N`` child process (spawned: rebuilds its own context)."""
    import torch

    context = SearchContext.create(SearchSettings(**settings))
    torch.set_num_threads(context.settings.torch_threads)
    return Worker(context=context, index=index).run(quota=quota, deadline=deadline)


def die_with_parent(parent: int) -> None:
    """Worker initializer: a SIGKILLed ``nas-search`` takes its workers with it (a daemon thread watches the parent's pid)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def prepare_study(context: SearchContext) -> tuple[optuna.Study, int]:
    """Open the study, fail trials left RUNNING by killed processes; return it and its finished count."""
    study = context.open_study()
    fail_stale_trials(study)
    return study, count_finished(study)
