"""Study set-up: storage URLs, samplers, study names derived from the settings.

The default storage is SQLite (``study.db`` in the output folder), which every
Optuna tool (optuna-dashboard included) reads. Any Optuna RDB URL works as well
(``postgresql://user@host/db``) so that several machines can share one study, and
an Optuna journal file (``--storage OUT/study.journal``) suits very long searches:
measured on this machine for one MobileDets trial record (109 parameters), a
journal append costs 2.2 ms and an SQLite insert about 50 ms
(experiments/search_overhead.py).
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any, Callable

import optuna
from optuna.trial import TrialState

from nas.errors import NasError

JOURNAL_SUFFIXES = (".journal", ".log")
_RDB_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb", "oracle", "mssql")


class StorageError(NasError):
    """A storage URL that cannot be opened (bad URL, server down, unwritable file)."""


def default_storage(out: Path) -> str:
    return f"sqlite:///{Path(out).resolve() / 'study.db'}"


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """``journal:PATH`` or a ``*.journal`` path → journal file storage; ``scheme://...`` → RDB storage."""
    text = str(url)
    if text.startswith("journal:") or (text.endswith(JOURNAL_SUFFIXES) and "://" not in text):
        path = Path(text.removeprefix("journal:"))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            from optuna.storages.journal import JournalFileOpenLock

            return optuna.storages.JournalStorage(_journal_backend()(str(path), lock_obj=JournalFileOpenLock(str(path))))
        except OSError as error:
            raise StorageError(f"--storage {text}: cannot open journal file: {error.strerror or error}") from None
    scheme = text.split("://", 1)[0].split("+", 1)[0] if "://" in text else ""
    if scheme not in _RDB_SCHEMES:
        raise StorageError(f"--storage {text!r}: expected a journal file (*.journal, journal:PATH) or a URL sqlite:///FILE, postgresql://USER@HOST/DB, mysql://...")
    engine_kwargs: dict[str, Any] = {"connect_args": {"timeout": 60}} if scheme == "sqlite" else {"pool_pre_ping": True}
    if scheme == "sqlite" and text.startswith("sqlite:///") and ":memory:" not in text:
        try:
            Path(text.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StorageError(f"--storage {text}: cannot create its folder: {error.strerror or error}") from None
    try:
        return optuna.storages.RDBStorage(text, engine_kwargs=engine_kwargs)
    except Exception as error:  # sqlalchemy errors: bad URL, missing driver, server down
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise StorageError(f"--storage {text}: cannot open: {first}") from None


def _journal_backend() -> type:
    """Optuna's journal file backend without the fsync after every append.

    A killed process loses nothing that ``write`` returned (the data is in the
    page cache); only a power cut could. The fsync costs 3-8 ms per record on this
    machine, i.e. more than the whole rest of a latency-only trial.
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


def make_sampler(name: str, *, seed: int | None) -> optuna.samplers.BaseSampler:
    if name not in SAMPLERS:
        raise NasError(f"unknown sampler {name!r} (known: {', '.join(SAMPLERS)})")
    return SAMPLERS[name](seed=seed)


# -- names and settings -------------------------------------------------------------------------
STUDY_KEYS = ("space", "resolution", "device", "objective", "proxy", "latency_target_ms", "beta")


def study_name(settings: dict[str, Any]) -> str:
    """Readable and stable: the settings that change what a trial's numbers mean."""
    parts = [str(settings["space"]), f"r{settings['resolution']}", str(settings["device"]), str(settings["objective"]), str(settings["proxy"])]
    if settings.get("latency_target_ms") is not None:
        parts.append(f"t{settings['latency_target_ms']:g}ms")
    if settings.get("beta") is not None:
        parts.append(f"b{settings['beta']:g}")
    return "-".join(parts)


def load_or_create(storage: optuna.storages.BaseStorage, *, name: str, directions: list[str], settings: dict[str, Any]) -> optuna.Study:
    """The named study (created on first use); a study made with other settings is refused."""
    try:
        study = optuna.create_study(storage=storage, study_name=name, directions=directions, load_if_exists=True)
    except Exception as error:
        raise StorageError(f"cannot open study {name!r}: {str(error).splitlines()[0]}") from None
    stored = study.user_attrs.get("settings")
    if stored is None:
        study.set_user_attr("settings", {key: settings.get(key) for key in STUDY_KEYS})
        study.set_user_attr("table", settings.get("table"))
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
    """Mark RUNNING trials of dead processes on this host as failed (a killed search leaves one behind).

    Trials of other hosts are left alone: their processes cannot be checked from here.
    """
    host = socket.gethostname()
    storage, failed = study._storage, 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = str(trial.user_attrs.get("worker", ""))
        trial_host, _, pid = worker.rpartition(":")
        if trial_host != host or not pid.isdigit() or _alive(int(pid)):
            continue
        storage.set_trial_user_attr(trial._trial_id, "fail_reason", f"worker {worker} ended while the trial ran (killed?)")
        storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        failed += 1
    return failed
