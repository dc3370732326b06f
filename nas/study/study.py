"""Study set-up: storage URLs, samplers, study names derived from the settings.

The default storage is SQLite (``study.db`` in the output folder), which every
Optuna tool (optuna-dashboard included) reads. Any Optuna RDB URL works as well
(``postgresql://user@host/db``) so that several machines can share one study, and
an Optuna journal file (``--storage OUT/study.journal``) suits very long searches.
Why SQLite stays the default (docs/how-to/postgresql.md), measured with experiments/search_overhead.py
(2-core EPYC, one core pinned, loaded; CPU ms per trial of ``--device cpu --proxy macs`` over bare
NSGA-II on the same pre-filled trials, 109 parameters, 50 trials at each point, the sampler's own CPU
taken out of both runs): SQLite 1.6 / 2.9 / 0.9 ms at trials 100 / 1,000 / 2,000, the journal
1.0 / 2.0 / 0.9 ms; resuming 1,950 trials took 32 s on SQLite and 12 s on the journal. The per-trial
cost is the same, and the CLI, the tests and users' scripts rely on ``OUT/study.db``.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator

import optuna
from optuna.trial import TrialState

from nas.errors import NasError
from nas.study.objectives import Direction
from nas.study.rdb import trials_in
from nas.study.settings import CONTROL_CODES, GRACE_FACTOR, HEARTBEAT_S, mask_secrets, mask_url  # noqa: F401  (re-exported)

JOURNAL_SUFFIXES = (".journal", ".log")
_RDB_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb", "oracle", "mssql")


class StorageError(NasError):
    """A storage URL that cannot be opened (bad URL, server down, unwritable file)."""


def default_storage(out: Path) -> str:
    return f"sqlite:///{Path(out).resolve() / 'study.db'}"


@contextlib.contextmanager
def folder_lock(path: Path) -> Iterator[None]:
    """``flock`` on the folder itself: serialises processes sharing a file storage, and leaves no lock file behind."""
    try:
        import fcntl
    except ImportError:  # not a POSIX system
        yield
        return
    path.mkdir(parents=True, exist_ok=True)
    handle = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # closing releases the lock


def journal_path(url: str) -> Path | None:
    """The file of a journal storage (``*.journal``, ``*.log``, ``journal:PATH``), else None."""
    text = str(url)
    if text.startswith("journal:") or (text.endswith(JOURNAL_SUFFIXES) and "://" not in text):
        return Path(text.removeprefix("journal:"))
    return None


def is_server(url: str) -> bool:
    """A database server URL (PostgreSQL, MySQL, ...): other hosts may share the study."""
    return "://" in str(url) and journal_path(url) is None and not str(url).startswith("sqlite")


def open_storage(url: str, *, heartbeat_s: int | None = None) -> optuna.storages.BaseStorage:
    """``journal:PATH`` or a ``*.journal`` path → journal file storage; ``scheme://...`` → RDB storage.

    ``heartbeat_s`` turns on Optuna's heartbeat for RDB storages (searching workers;
    readers leave it off): a trial whose worker stopped beating for
    ``GRACE_FACTOR × heartbeat_s`` seconds is failed by the next worker that looks.
    """
    text = str(url)
    path = journal_path(text)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            from optuna.storages.journal import JournalFileOpenLock

            return optuna.storages.JournalStorage(_journal_backend()(str(path), lock_obj=JournalFileOpenLock(str(path))))
        except OSError as error:
            raise StorageError(f"--storage {mask_url(text)}: cannot open journal file: {error.strerror or error}") from None
    scheme = text.split("://", 1)[0].split("+", 1)[0] if "://" in text else ""
    if scheme not in _RDB_SCHEMES:
        raise StorageError(
            f"--storage {mask_url(text)!r}: expected a journal file (*.journal, journal:PATH) or a URL sqlite:///FILE, postgresql://USER@HOST/DB, mysql://..."
        )
    engine_kwargs: dict[str, Any] = (
        {"connect_args": {"timeout": 60, "factory": WalConnection}} if scheme == "sqlite" else {"pool_pre_ping": True}
    )
    file = storage_file(text)
    if file is not None:
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StorageError(f"--storage {mask_url(text)}: cannot create its folder: {error.strerror or error}") from None
    beat: dict[str, Any] = (
        {} if heartbeat_s is None else {"heartbeat_interval": int(heartbeat_s), "grace_period": GRACE_FACTOR * int(heartbeat_s)}
    )
    for attempt in range(3):  # two servers' first connections may race to create the schema: the loser retries
        try:
            with warnings.catch_warnings(), folder_lock(file.resolve().parent) if file is not None else contextlib.nullcontext():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(text, engine_kwargs=engine_kwargs, **beat)
        except Exception as error:  # sqlalchemy errors: bad URL, missing driver, server down, schema race
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            if attempt < 2 and ("already exists" in first or "UNIQUE constraint" in first or "duplicate key" in first):
                continue
            raise StorageError(mask_secrets(f"--storage {text}: cannot open: {first}", text)) from None
    raise AssertionError("unreachable")


class WalConnection(sqlite3.Connection):
    """A SQLite connection in WAL mode with ``synchronous=NORMAL``: a commit appends to the WAL, no fsync.

    Measured with experiments/search_overhead.py's trial record (2-core EPYC, shared): 16 ms a trial
    in SQLite's default rollback journal (an fsync per commit), 2-4 ms in WAL mode. A killed process
    loses nothing committed; a power cut may lose the last commits (as the journal file without fsync).
    WAL needs a local file system (not NFS), as several SQLite writers already do.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.execute("PRAGMA journal_mode=WAL")
        self.execute("PRAGMA synchronous=NORMAL")


def storage_file(url: str) -> Path | None:
    """The file of a file storage (SQLite file, journal); None for a server or an in-memory database."""
    sqlite = url.startswith("sqlite:///") and ":memory:" not in url
    return journal_path(url) or (Path(url.removeprefix("sqlite:///")) if sqlite else None)


def _journal_backend() -> type:
    """Optuna's journal file backend without the fsync after every append.

    A killed process loses nothing that ``write`` returned (the data is in the
    page cache); only a power cut could. Optuna's stock backend took 16.1 ms (median, wall;
    p10 15.8 ms) per trial record against 12.1 ms (p10 8.0 ms) without the fsync
    (experiments/results/search_writes.md, 2-core EPYC, loaded): 4-8 ms a trial, as much as the
    layer's whole ≤ 5 ms budget. Private API (``_lock``, ``_file_path``,
    ``journal._file.get_lock_file``), guarded by tests/study/test_rdb.py.
    """
    from optuna.storages.journal import JournalFileBackend
    from optuna.storages.journal._file import get_lock_file

    class PageCacheJournalFile(JournalFileBackend):
        def append_logs(self, logs: list[dict[str, Any]]) -> None:
            text = "\n".join(json.dumps(log, separators=(",", ":")) for log in logs) + "\n"
            with get_lock_file(self._lock):
                with open(self._file_path, "ab") as handle:
                    handle.write(text.encode("utf-8"))

    return PageCacheJournalFile


# -- samplers ---------------------------------------------------------------------------------------
# Latency constraints reach NSGA-II and TPE through ``trial.set_constraint`` (Optuna >= 5).
SAMPLERS: dict[str, Callable[..., optuna.samplers.BaseSampler]] = {
    "nsga2": optuna.samplers.NSGAIISampler,
    "tpe": optuna.samplers.TPESampler,
    "random": optuna.samplers.RandomSampler,
}


def default_population(trials: int) -> int:
    """NSGA-II population for a search of ``trials``: about ten generations, between 10 and Optuna's 50.

    With Optuna's fixed 50, the default 200 trials are four generations, mostly random, and the chosen
    network did not beat MobileNetV2 on the proxy; 20 did (experiments/search_quality.py).
    """
    return min(50, max(10, trials // 10))


# TPE samples the 109 parameters of a block space jointly (``multivariate``), split into the groups of parameters
# that occur together (``group``: a block type's own keys are conditional). Measured by
# experiments/tpe_multivariate.py on the main job (200 trials, dsp, default proxy, seeds 0-2): margin over the best
# MobileNetV2 reference +0.020 median (-0.011 / +0.079 / +0.020) against independent TPE's -0.039
# (-0.039 / +0.001 / -0.078), in 0.68x the time (experiments/results/tpe_multivariate.md); independent TPE scores
# every past trial once per parameter.
TPE_OPTIONS: dict[str, Any] = {"multivariate": True, "group": True}


def make_sampler(name: str, *, seed: int | None, population: int | None = None) -> optuna.samplers.BaseSampler:
    if name not in SAMPLERS:
        raise NasError(f"unknown sampler {name!r} (known: {', '.join(SAMPLERS)})")
    if population is not None:
        if name != "nsga2":
            raise NasError(f"--population applies to the nsga2 sampler, not to {name!r}")
        return SAMPLERS[name](seed=seed, population_size=population)
    if name == "tpe":
        with warnings.catch_warnings():  # Optuna marks multivariate and group experimental; the choice is measured above
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return SAMPLERS[name](seed=seed, **TPE_OPTIONS)
    return SAMPLERS[name](seed=seed)


# -- names and settings -------------------------------------------------------------------------
STUDY_KEYS = ("space", "resolution", "device", "objective", "proxy", "latency_target_ms", "beta")


def study_name(settings: dict[str, Any]) -> str:
    """Readable and stable: the settings that change what a trial's numbers mean."""
    parts = [
        str(settings["space"]),
        f"r{settings['resolution']}",
        str(settings["device"]),
        str(settings["objective"]),
        str(settings["proxy"]),
    ]
    if settings.get("latency_target_ms") is not None:
        parts.append(f"t{settings['latency_target_ms']:g}ms")
    if settings.get("beta") is not None:
        parts.append(f"b{settings['beta']:g}")
    return CONTROL_CODES.sub("_", "-".join(parts))  # a name from a user's YAML must not carry terminal escape codes


def load_or_create(
    storage: optuna.storages.BaseStorage,
    *,
    name: str,
    directions: list[Direction],
    settings: dict[str, Any],
    metric_names: list[str] | None = None,
) -> optuna.Study:
    """The named study (created on first use); a study made with other settings is refused.

    ``metric_names`` label the objectives (``study.set_metric_names``) so optuna-dashboard shows them by name.
    """
    try:
        study = optuna.create_study(storage=storage, study_name=name, directions=directions, load_if_exists=True)
    except Exception as error:
        raise StorageError(f"cannot open study {name!r}: {str(error).splitlines()[0]}") from None
    stored = study.user_attrs.get("settings")
    if stored is None:
        study.set_user_attr("settings", {key: settings.get(key) for key in STUDY_KEYS})
        study.set_user_attr("table", settings.get("table"))
        if metric_names is not None and len(metric_names) == len(directions):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                study.set_metric_names(metric_names)
    else:
        changed = [key for key in STUDY_KEYS if stored.get(key) != settings.get(key)]
        if changed:
            pairs = ", ".join(f"{key}: study {stored.get(key)!r} vs now {settings.get(key)!r}" for key in changed)
            raise NasError(f"study {name!r} was made with other settings ({pairs}); pass another --study-name or --out")
    if [d.name.lower() for d in study.directions] != directions:
        raise NasError(f"study {name!r} optimises {[d.name.lower() for d in study.directions]}, not {directions}")
    return study


# -- workers and stale trials ---------------------------------------------------------------------
def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_stale_trials(study: optuna.Study) -> int:
    """Fail RUNNING trials whose worker is gone, storing why in the ``fail_reason`` user attr.

    Two checks: a trial of this host whose process is dead (a killed search leaves
    one behind), and, on RDB storages with a heartbeat, a trial of any host whose
    worker has not beaten for the grace period (a crashed machine). Trials of other
    hosts on a journal file cannot be checked from here and are left alone.

    Not Optuna's ``optuna.storages.fail_stale_trials``: it fails a stale trial without saying why
    (its ``failed_trial_callback`` gets the trial once it is failed, when no attr can be set any
    more), and it finds a killed local process only after the grace period (30 s by default),
    where the pid check finds it at once. The heartbeat part reads Optuna's own stale list
    (private ``_get_stale_trial_ids``, what the public function reads too), guarded by
    tests/reliability/test_faults.py::test_trial_of_a_crashed_remote_worker_is_failed_after_the_grace_period.
    """
    host = socket.gethostname()
    storage, reasons = study._storage, {}
    for trial in trials_in(storage, study._study_id, (TrialState.RUNNING,)):
        worker = str(trial.user_attrs.get("worker", ""))
        trial_host, _, pid = worker.rpartition(":")
        if trial_host == host and pid.isdigit() and not _alive(int(pid)):
            reasons[trial._trial_id] = f"worker {worker} ended while the trial ran (killed?)"
    if heartbeat_on(storage):
        grace = GRACE_FACTOR * int(storage.get_heartbeat_interval())  # type: ignore[attr-defined]
        for trial_id in storage._get_stale_trial_ids(study._study_id):  # type: ignore[attr-defined]
            worker = str(storage.get_trial(trial_id).user_attrs.get("worker", "?"))
            reasons.setdefault(trial_id, f"no heartbeat from worker {worker} for more than {grace} s (host or process down?)")
    failed = 0
    for trial_id, reason in reasons.items():
        try:  # another worker may fail the same trial at the same time
            storage.set_trial_user_attr(trial_id, "fail_reason", reason)
            failed += bool(storage.set_trial_state_values(trial_id, TrialState.FAIL))
        except optuna.exceptions.UpdateFinishedTrialError:
            pass
    return failed


def heartbeat_on(storage: Any) -> bool:
    """Whether the storage records heartbeats (an RDB storage opened with ``heartbeat_s``)."""
    return callable(getattr(storage, "get_heartbeat_interval", None)) and storage.get_heartbeat_interval() is not None
