"""Python API mirroring the command line, for notebooks: ``nas.search(...)``, ``nas.export(...)`` and ``nas.train(...)``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nas.errors import NasError


def search(*, progress: bool = True, **settings: Any) -> Any:
    """Run (or resume) ``nas-search``; the keywords are the fields of ``nas.study.SearchSettings``.

    Returns a ``nas.study.SearchResult``. ``latency_target_ms=`` is ``--latency-target``; ``None`` means the default.
    """
    from nas.study import SearchContext
    from nas.study import search as run_search

    return run_search(SearchContext.create(**settings), progress=progress)


def export(
    target: Any = None,
    *,
    out: str | Path,
    formats: str | list[str] | tuple[str, ...] = ("yaml", "onnx"),
    storage: str | None = None,
    study_name: str | None = None,
    trial: str | int = "best",
    width: float | None = None,
    resolution: int | None = None,
    num_classes: int | None = None,
    sample: int | None = None,
) -> list[Path]:
    """Export an ArchSpec / space / YAML / arch string, or trials of a study; returns the written files.

    From a study, ``trial="pareto"`` writes each front trial into ``out/trial-N/``.
    """
    from nas.arch import ArchSpec
    from nas.exporting.formats import export_arch, parse_formats

    names = parse_formats(formats)
    if storage is not None:
        from nas.study.selection import load_study, select

        study = load_study(storage, study_name)
        chosen = select(study, str(trial))
        if len(chosen) == 1:
            row = chosen[0]
            return list(export_arch(row.arch_spec().with_name(f"{study.study_name}-trial{row.number}"), out, formats=names).values())
        from nas.exporting.publish import staged

        written: list[Path] = []
        with staged(out) as stage:  # the whole front is published at once: no trial-N/ of an earlier front stays beside it
            for row in chosen:
                files = export_arch(
                    row.arch_spec().with_name(f"{study.study_name}-trial{row.number}"), stage / f"trial-{row.number}", formats=names
                )
                written += [Path(out) / path.relative_to(stage) for path in files.values()]
        return written
    if target is None:
        raise NasError("give a TARGET (space, arch YAML or arch string) or --storage with a study")
    if isinstance(target, ArchSpec):
        arch = target
    else:
        from nas.target import load_target

        arch, _ = load_target(str(target), width=width, resolution=resolution, num_classes=num_classes, sample=sample)
    return list(export_arch(arch, out, formats=names).values())


def train(
    target: Any = None,
    *,
    data: Any,
    out: str | Path,
    storage: str | None = None,
    study_name: str | None = None,
    trial: str | int = "best",
    width: float | None = None,
    sample: int | None = None,
    num_classes: int | None = None,
    progress: bool = True,
    **recipe: Any,
) -> Any:
    """Train an ArchSpec / space / YAML / arch string, or a study trial, as ``nas-train`` does.

    ``data``: ``"cifar10:PATH"``, ``"imagefolder:PATH"``, ``"synthetic"`` or an ``ImageData``; ``recipe``: the fields
    of ``nas.training.Recipe`` (``epochs=``, ``batch_size=``, ``lr=``, ``ema=``, ...). Returns a
    ``nas.training.TrainResult``; calling it again with the same arguments resumes (or returns) the run in ``out``.
    """
    from nas.training.run import train as run_train

    return run_train(
        target,
        data=data,
        out=out,
        storage=storage,
        study_name=study_name,
        trial=trial,
        width=width,
        sample=sample,
        num_classes=num_classes,
        progress=progress,
        **recipe,
    )
