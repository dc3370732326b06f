"""Python API mirroring the command line, for notebooks: ``nas.search(...)``, ``nas.export(...)``, ``nas.train(...)``, ``nas.train_supernet(...)``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nas.errors import NasError


def search(*, progress: bool = True, **settings: Any) -> Any:
    """Run (or resume) ``nas-search``; the keywords are the fields of ``nas.study.SearchSettings``.

    Returns a ``nas.study.SearchResult``. ``latency_target_ms=`` is ``--latency-target``; ``None`` means the default.
    With ``data=`` and no ``proxy=`` the candidates are scored by a supernet trained on the data (``nas.training.search_supernet``).
    """
    from nas.study import SearchContext
    from nas.study import search as run_search
    from nas.study.settings import SearchSettings
    from nas.training.search_supernet import with_supernet

    return run_search(SearchContext.create(with_supernet(SearchSettings.from_options(settings), progress=progress)), progress=progress)


def export(
    target: Any = None,
    *,
    out: str | Path,
    formats: str | list[str] | tuple[str, ...] | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    trial: str | int = "best",
    width: float | None = None,
    resolution: int | None = None,
    num_classes: int | None = None,
    sample: int | None = None,
    weights: str | Path | None = None,
    data: str | None = None,
    calibration_images: int | None = None,
    calibration_method: str | None = None,
    eval_images: int | None = None,
    device: str | None = None,
) -> list[Path]:
    """Export an ArchSpec / space / YAML / arch string, or trials of a study; returns the written files.

    From a study, ``trial="pareto"`` writes each front trial into ``out/trial-N/``. ``weights``: a
    ``nas-train`` weights file; its architecture is exported (``target`` may be left out; given, it
    must be the same network). ``data`` (``cifar10:PATH``, ``imagefolder:PATH``): int8 calibrated on
    its training images, and with ``weights`` both files' top-1 on its test split. ``formats``
    defaults to yaml,onnx, plus int8 when ``data`` is given. export.json in ``out`` holds the figures.
    """
    from nas.arch import ArchSpec
    from nas.exporting.deploy import DEFAULT_CALIBRATION_IMAGES, DEFAULT_METHOD, ExportSettings, TrainedWeights
    from nas.exporting.formats import export_arch, parse_formats

    if formats is None:
        formats = ("yaml", "onnx", "int8") if data is not None else ("yaml", "onnx")
    names = parse_formats(formats)
    settings = ExportSettings(
        calibration_images=DEFAULT_CALIBRATION_IMAGES if calibration_images is None else calibration_images,
        calibration_method=calibration_method or DEFAULT_METHOD,
        eval_images=eval_images,
        device=device,
    )

    def deploy() -> dict[str, Any]:
        """The data and settings for export_arch, read after the weights were checked (a bad file fails fast)."""
        from nas.proxies.data import load_data

        return {"data": load_data(data) if data is not None else None, "data_spec": data, "settings": settings}

    if storage is not None:
        from nas.study.selection import load_study, select

        study = load_study(storage, study_name)
        chosen = select(study, str(trial))
        if len(chosen) == 1:
            row = chosen[0]
            arch = row.arch_spec().with_name(f"{study.study_name}-trial{row.number}")
            trained = TrainedWeights.read(weights, arch=arch) if weights is not None else None
            return list(export_arch(trained.arch if trained else arch, out, formats=names, weights=trained, **deploy()).values())
        if weights is not None:
            raise NasError(f"--weights names one network, but --trial {trial} selects {len(chosen)} trials: pass --trial N")
        from nas.exporting.publish import staged

        written: list[Path] = []
        with staged(out) as stage:  # the whole front is published at once: no trial-N/ of an earlier front stays beside it
            common = deploy()
            for row in chosen:
                files = export_arch(
                    row.arch_spec().with_name(f"{study.study_name}-trial{row.number}"),
                    stage / f"trial-{row.number}",
                    formats=names,
                    **common,
                )
                written += [Path(out) / path.relative_to(stage) for path in files.values()]
        return written
    if target is None and weights is None:
        raise NasError("give a TARGET (space, arch YAML or arch string), --weights of a trained network, or --storage with a study")
    asked: ArchSpec | None = None
    if isinstance(target, ArchSpec):
        asked = target
    elif target is not None:
        from nas.target import load_target

        asked, _ = load_target(str(target), width=width, resolution=resolution, num_classes=num_classes, sample=sample)
    if weights is not None:
        trained = TrainedWeights.read(weights, arch=asked)  # checked before anything is staged
        return list(export_arch(trained.arch, out, formats=names, weights=trained, **deploy()).values())
    assert asked is not None  # no weights, so a target was given
    return list(export_arch(asked, out, formats=names, **deploy()).values())


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
    init: str | None = None,
    **recipe: Any,
) -> Any:
    """Train an ArchSpec / space / YAML / arch string, or a study trial, as ``nas-train`` does.

    ``data``: ``"cifar10:PATH"``, ``"imagefolder:PATH"``, ``"synthetic"`` or an ``ImageData``; ``recipe``: the fields
    of ``nas.training.Recipe`` (``epochs=``, ``batch_size=``, ``lr=``, ``ema=``, ...); ``init="supernet:DIR"``: start from
    the weights the network inherits from a trained supernet (BatchNorm recalibrated). Returns a
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
        init=init,
        **recipe,
    )


def train_supernet(
    space: Any,
    *,
    data: Any,
    out: str | Path,
    rule: str | None = None,
    random_paths: int = 2,
    type_warmup: float | None = None,
    progress: bool = True,
    **recipe: Any,
) -> Any:
    """Train a weight-sharing supernet over ``space`` (a name, a space YAML or a ``SearchSpace``), as ``nas-supernet train`` does.

    ``data`` as for :func:`train`; ``rule``: ``"spos"``, ``"sandwich"`` or ``"fair"`` [sandwich]; ``type_warmup``: the fraction of the
    steps that warm up the stages' first layers' block types [0.25]; ``recipe``: fields of ``nas.training.Recipe``
    (``epochs=``, ``batch_size=``, ``lr=``, ``resolution=`` [the space's], ``val_fraction=``, ``seed=``, ...). Returns a
    ``nas.training.supernet.SupernetResult`` (``.path`` is ``out/supernet.pt``); the same call again resumes (or returns) it.
    """
    from nas.training.supernet import DEFAULT_RULE, DEFAULT_TYPE_WARMUP
    from nas.training.supernet import train_supernet as run_train_supernet

    return run_train_supernet(
        space,
        data=data,
        out=out,
        rule=rule or DEFAULT_RULE,
        random_paths=random_paths,
        type_warmup=DEFAULT_TYPE_WARMUP if type_warmup is None else type_warmup,
        progress=progress,
        **recipe,
    )
