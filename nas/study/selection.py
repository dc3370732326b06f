"""Pick architectures out of a stored study: ``best`` (the search's rule), a trial number, or the Pareto front."""

from __future__ import annotations

from pathlib import Path

import optuna

from nas.arch import ArchSpec
from nas.errors import NasError
from nas.records import TrialRecord, choose_best, pareto_front, records


def load_study(storage: str, study_name: str | None) -> optuna.Study:
    from nas.study.study import open_storage, storage_file

    local = storage_file(storage)
    if local is not None and not local.is_file():
        raise NasError(f"--storage {storage}: no such file {local} (a search writes OUT/study.db; pass sqlite:///OUT/study.db)")
    backend = open_storage(storage)
    names = [summary.study_name for summary in optuna.get_all_study_summaries(backend)]
    if study_name is None:
        if len(names) != 1:
            raise NasError(f"--storage {storage} holds {len(names)} studies; pass --study-name (one of: {', '.join(names) or 'none'})")
        study_name = names[0]
    if study_name not in names:
        raise NasError(f"no study {study_name!r} in {storage} (studies: {', '.join(names) or 'none'})")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.load_study(study_name=study_name, storage=backend)


def budget_of(study: optuna.Study) -> float | None:
    """The search's budget: its latency target, else MobileNetV2 1.0's latency on its table."""
    settings = study.user_attrs.get("settings", {})
    if settings.get("latency_target_ms") is not None:
        return float(settings["latency_target_ms"])
    from nas.latency.table import LatencyTable, MissingEntriesError
    from nas.space import get_space

    stored = study.user_attrs.get("table")
    try:
        table = LatencyTable.load(stored) if stored and Path(stored).exists() else _device_table(str(settings.get("device", "")))
    except NasError:
        return None
    first = next((t for t in study.get_trials(deepcopy=False) if "arch" in t.user_attrs), None)
    if first is None:
        return None
    arch = ArchSpec.from_string(first.user_attrs["arch"])
    reference = get_space(_reference_of(settings), resolution=arch.resolution, num_classes=arch.num_classes).arch()
    try:
        return table.latency(reference)
    except MissingEntriesError:
        return None


def _reference_of(settings: dict) -> str:
    """The searched space's reference network; MobileNetV2 when the space cannot be loaded here."""
    from nas.space import get_space

    try:
        return get_space(str(settings.get("space", ""))).definition.reference
    except NasError:
        return "mobilenet_v2"


def _device_table(device: str):  # noqa: ANN202 - LatencyTable
    from nas.devices import get_device

    return get_device(device).load_table()


def select(study: optuna.Study, which: str) -> list[TrialRecord]:
    """``best``, ``pareto`` or a trial number → the chosen trial records."""
    rows = records(study)
    if which == "best":
        return [choose_best(rows, budget_of(study))[0]]
    if which == "pareto":
        front = pareto_front(rows)
        if not front:
            raise NasError(f"study {study.study_name!r} has no complete trial")
        return front
    if not which.isdigit():
        raise NasError(f"--trial must be best, pareto or a trial number, got {which!r}")
    found = [r for r in rows if r.number == int(which)]
    if not found:
        raise NasError(f"study {study.study_name!r} has no trial {which} (trials 0..{len(study.trials) - 1})")
    return found
