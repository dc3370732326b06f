"""The search loop: sample in memory, price with the table, score with the proxy, persist each trial.

Optuna writes every ``suggest`` to its storage, which for a 109-parameter space
costs 87 ms (journal) to 170 ms (SQLite) per trial. Each worker therefore samples
in an in-memory *mirror* study (same sampler, same directions) and writes each
trial to the shared storage as whole records: when the proxy is slow (last one
took ≥ 50 ms) one record when the trial starts (RUNNING, with its arch, latency,
params and MACs) and one when it ends, so a killed run leaves a RUNNING trial the
next run marks failed; when the proxy is fast, a single record when it ends
(a kill then loses at most that trial's few milliseconds).
Before each trial the mirror takes in the trials other workers (and earlier runs)
finished, so resuming and several workers see the whole study.
"""

from __future__ import annotations

import datetime as _dt
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import FrozenTrial, TrialState

from nas.counting import count
from nas.errors import NasError
from nas.search.context import SearchContext
from nas.search.study import fail_stale_trials, make_sampler, open_storage, worker_id

MAX_FAILURES_IN_A_ROW = 20
RECORD_AT_START_S = 0.05  # proxies faster than this: one record per trial, written when it ends
SYNC_SECONDS = 2.0
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


@dataclass
class WorkerStats:
    complete: int = 0
    failed: int = 0
    pruned: int = 0
    reasons: list[str] = field(default_factory=list)


def count_finished(study: optuna.Study) -> int:
    """Trials that count towards ``--trials``: complete and pruned ones (failed trials are retried)."""
    return len(study.get_trials(deepcopy=False, states=FINISHED))


class Worker:
    """One process's share of a search over one shared study."""

    def __init__(self, *, context: SearchContext, index: int = 0) -> None:
        self.context = context
        self.study = context.open_study()
        self.storage = self.study._storage
        self.worker = worker_id()
        self.known: set[int] = set()
        existing = len(self.study.get_trials(deepcopy=False))
        seed = context.seed
        # reseed on resume, so that a seeded random or NSGA-II sampler does not replay the first trials
        seed = None if seed is None else seed + existing + 1_000_003 * index
        objective = context.objective
        pruner = optuna.pruners.MedianPruner(n_startup_trials=5) if len(objective.directions) == 1 else optuna.pruners.NopPruner()
        self.mirror = optuna.create_study(directions=objective.directions, sampler=make_sampler(context.sampler, seed=seed), pruner=pruner)
        self._proxy_seconds = float("inf")  # unknown until the first trial: record at start
        self.distributions = {name: CategoricalDistribution(list(choices)) for name, choices in context.space.parameters.items()}
        self._synced_at = 0.0
        self.sync(force=True)

    def sync(self, *, force: bool = False) -> None:
        """Copy finished trials of other workers and earlier runs into the mirror."""
        now = time.monotonic()
        if not force and now - self._synced_at < SYNC_SECONDS:
            return
        self._synced_at = now
        for trial in self.study.get_trials(deepcopy=False, states=FINISHED):
            if trial._trial_id in self.known:
                continue
            self.known.add(trial._trial_id)
            if trial.user_attrs.get("worker") != self.worker:
                self.mirror.add_trial(trial)

    def run(self, *, quota: int, deadline: float | None = None, total: int | None = None, on_trial: Callable[[TrialState], None] | None = None) -> WorkerStats:
        """Run until ``quota`` trials finished here, the study holds ``total``, or the deadline passed."""
        stats = WorkerStats()
        in_a_row = 0
        while stats.complete + stats.pruned < quota:
            if deadline is not None and time.time() >= deadline:
                break
            self.sync()
            if total is not None and len(self.known) >= total and self.context.workers > 1:
                break
            state = self.trial(reasons=stats.reasons)
            if state == TrialState.FAIL:
                stats.failed += 1
                in_a_row += 1
                if in_a_row >= MAX_FAILURES_IN_A_ROW:
                    raise NasError(f"{in_a_row} trials in a row failed; last reason: {stats.reasons[-1]}")
            else:
                in_a_row = 0
                stats.complete += state == TrialState.COMPLETE
                stats.pruned += state == TrialState.PRUNED
            if on_trial is not None:
                on_trial(state)
        return stats

    def trial(self, *, reasons: list[str]) -> TrialState:
        """One candidate: sample, price, record as RUNNING, score, record the outcome."""
        context, mirror = self.context, self.mirror
        trial = mirror.ask()
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
        system_attrs = trial.storage.get_trial_system_attrs(trial._trial_id)
        # a slow proxy: record the trial now, so that a killed run leaves a RUNNING trial the next run marks failed
        trial_id = self._create(trial, attrs, system_attrs, TrialState.RUNNING, None) if self._proxy_seconds >= RECORD_AT_START_S else None

        def report(step: int, accuracy: float) -> bool:
            if len(context.objective.directions) > 1:
                return False  # Optuna prunes single-objective studies only
            trial.report(accuracy, step)
            if trial_id is not None:
                self.storage.set_trial_intermediate_value(trial_id, step, accuracy)
            return trial.should_prune()

        from nas.proxies import ProxyError, ProxyPruned

        start = time.perf_counter()
        try:
            result = context.proxy.evaluate(arch, seed=context.proxy_seed, data=context.data, report=report)
        except ProxyPruned as pruned:
            self._proxy_seconds = time.perf_counter() - start
            return self._record(trial, trial_id, attrs, system_attrs, TrialState.PRUNED, None, {"pruned": str(pruned)})
        except ProxyError as error:
            self._proxy_seconds = time.perf_counter() - start
            reasons.append(str(error))
            return self._record(trial, trial_id, attrs, system_attrs, TrialState.FAIL, None, {"fail_reason": str(error)})
        except BaseException as error:  # a bug or Ctrl-C: record why, then stop the search
            self._record(trial, trial_id, attrs, system_attrs, TrialState.FAIL, None, {"fail_reason": f"{type(error).__name__}: {error}"[:500]})
            raise
        self._proxy_seconds = result.seconds
        values = context.objective.values(result.score, latency)
        return self._record(trial, trial_id, attrs, system_attrs, TrialState.COMPLETE, values, {"proxy": [result.score, result.seconds]})

    def _create(self, trial: optuna.Trial, attrs: dict[str, Any], system_attrs: dict[str, Any], state: TrialState, values: list[float] | None) -> int:
        template = _template(trial.params, attrs, self.distributions, system_attrs, state=state, values=values)
        return self.storage.create_new_trial(self.study._study_id, template_trial=template)

    def _record(self, trial: optuna.Trial, trial_id: int | None, attrs: dict[str, Any], system_attrs: dict[str, Any], state: TrialState,
                values: list[float] | None, extra: dict[str, Any]) -> TrialState:
        """Write the outcome: one record for a trial not yet stored, else its extra attrs and final state."""
        if trial_id is None:
            trial_id = self._create(trial, {**attrs, **extra}, system_attrs, state, values)
        else:
            for key, value in extra.items():
                self.storage.set_trial_user_attr(trial_id, key, value)
            self.storage.set_trial_state_values(trial_id, state, values)
        self.mirror.tell(trial, values, state=state) if values is not None else self.mirror.tell(trial, state=state)
        self.known.add(trial_id)
        return state


def arch_yaml(arch: Any) -> str:
    """The arch's YAML form, one flow mapping per block (JSON-style scalars are valid YAML).

    ``arch.to_yaml()`` through PyYAML costs 4 ms per trial, more than the rest of a
    latency-only trial; this costs 0.3 ms and loads back to the same ArchSpec.
    """
    lines = []
    for key, value in arch.to_dict().items():
        if key == "blocks":
            lines.append("blocks:")
            lines += [f"- {json.dumps(block)}" for block in value]
        else:
            lines.append(f"{key}: {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def _template(params: dict[str, Any], attrs: dict[str, Any], distributions: dict[str, CategoricalDistribution], system_attrs: dict[str, Any],
              *, state: TrialState, values: list[float] | None) -> FrozenTrial:
    now = _dt.datetime.now()
    return FrozenTrial(
        number=-1,
        state=state,
        value=None,
        values=values,
        datetime_start=now,
        datetime_complete=None if state == TrialState.RUNNING else now,
        params=dict(params),
        distributions=distributions,
        user_attrs=attrs,
        system_attrs=dict(system_attrs),
        intermediate_values={},
        trial_id=-1,
    )


def run_worker_process(context_args: dict[str, Any], index: int, quota: int, deadline: float | None, total: int) -> WorkerStats:
    """Entry point of a ``--workers N`` child process (spawned: rebuilds its own context)."""
    import torch

    torch.set_num_threads(1)
    context = SearchContext.create(**context_args)
    return Worker(context=context, index=index).run(quota=quota, deadline=deadline, total=total)


def prepare_study(context: SearchContext) -> tuple[optuna.Study, int]:
    """Open the study, fail trials left RUNNING by killed processes; return it and its finished count."""
    study = context.open_study()
    fail_stale_trials(study)
    return study, count_finished(study)


__all__ = ["Worker", "WorkerStats", "count_finished", "open_storage", "prepare_study", "run_worker_process"]
