"""A whole search: run the trials (one process or ``--workers N``), then write every output file."""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import optuna
from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from nas.study.context import SearchContext, check_out
from nas.records import Reference, TrialRecord, choose_best, pareto_front, records, write_csvs
from nas.study.finalists import rescore_finalists
from nas.study.rdb import FINISHED
from nas.study.runner import Worker, count_finished, die_with_parent, prepare_study, run_worker_process
from nas.study.study import StorageError, mask_url
from nas.exporting.summary import export_lines


@dataclass
class SearchResult:
    out: Path
    study_name: str
    storage: str
    rows: list[TrialRecord]
    best: TrialRecord
    fits: bool
    budget_ms: float | None
    references: list[Reference]
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def front(self) -> list[TrialRecord]:
        return pareto_front(self.rows)


def run_trials(context: SearchContext, *, progress: bool = True, on_trial: Callable[[Any], None] | None = None) -> None:
    """Bring the study to ``context.settings.trials`` finished trials (a rerun resumes where it stopped).

    ``on_trial(state)`` is called after each trial of a one-process search (experiments/search_overhead.py times trials with it).
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study, finished = prepare_study(context)
    check_out(context, storage=True)
    context.claim_out()
    remaining = max(0, context.settings.trials - finished)
    deadline = time.time() + context.settings.timeout if context.settings.timeout else None
    bar = tqdm(
        total=context.settings.trials,
        initial=finished,
        desc=context.study_name[:40],
        unit="trial",
        disable=not progress,
        dynamic_ncols=True,
    )
    try:
        if remaining and context.settings.workers == 1:
            import torch

            torch.set_num_threads(context.settings.torch_threads)

            def after_trial(state: Any) -> None:
                bar.update(state in FINISHED)
                if on_trial is not None:
                    on_trial(state)

            Worker(context=context).run(quota=remaining, deadline=deadline, on_trial=after_trial)
        elif remaining:
            _run_processes(context, study, remaining, deadline, bar)
    finally:
        bar.close()


def _run_processes(context: SearchContext, study: Any, remaining: int, deadline: float | None, bar: tqdm) -> None:
    """``--workers N`` local processes on the shared storage; the quota is split so the total is exact."""
    n = min(context.settings.workers, remaining)
    quotas = [remaining // n + (1 if i < remaining % n else 0) for i in range(n)]
    with ProcessPoolExecutor(
        max_workers=n, mp_context=multiprocessing.get_context("spawn"), initializer=die_with_parent, initargs=(os.getpid(),)
    ) as pool:
        futures = [pool.submit(run_worker_process, asdict(context.settings), i, quota, deadline) for i, quota in enumerate(quotas)]
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.5)
            bar.n = min(count_finished(study), context.settings.trials)
            bar.refresh()
        for future in futures:
            future.result()  # re-raises a worker's NasError here


def finish(context: SearchContext, *, export_formats: tuple[str, ...] | None = None, progress: bool = True) -> SearchResult:
    """Re-score the finalists (a proxy that can), then write trials.csv, pareto.csv, pareto.png, best/ (yaml, onnx,
    int8 on int8 devices) and report.md."""
    from nas.exporting.formats import export_arch
    from nas.exporting.plot import plot_pareto
    from nas.exporting.report import write_report

    study = context.open_study()
    rows = records(study)
    out = context.out
    refs = context.references()
    target = context.objective.target_ms
    reference_1 = next((r for r in refs if r.width == 1.0), None)
    budget, label = (
        (target, "--latency-target")
        if target is not None
        else ((reference_1.latency_ms, "latency of MobileNetV2 1.0") if reference_1 and reference_1.latency_ms is not None else (None, ""))
    )
    rows = rescore_finalists(study, rows, context=context, budget_ms=budget, progress=progress)
    write_csvs(rows, out)
    best, fits = choose_best(rows, budget)
    formats = export_formats or (("yaml", "onnx", "int8") if context.device.precision == "int8" else ("yaml", "onnx"))
    arch = best.arch_spec().with_name(f"{context.space.name}-trial{best.number}")
    inherited = _inherited(context, arch)
    if inherited is not None and export_formats is None and "int8" not in formats:
        formats = (*formats, "int8")  # calibrated on real training images: worth shipping beside fp32
    files = {
        f"best/{path.name}": path
        for path in export_arch(
            inherited.arch if inherited is not None else arch,
            out / "best",
            formats=formats,
            weights=inherited,  # None: no trained weights for the best yet, and best/export.json names the next commands
            data=context.data if inherited is not None else None,
            data_spec=context.settings.data,
            weights_file=inherited is not None,
        ).values()
    }
    title = f"{context.study_name} ({context.device.name}, {context.table.source} table)"
    files["pareto.png"] = plot_pareto(
        rows,
        out / "pareto.png",
        references=refs,
        best=best,
        target_ms=target,
        title=title,
        proxy_name=context.proxy.name,
        latency_source=context.table.source,
    )
    files["trials.csv"], files["pareto.csv"] = out / "trials.csv", out / "pareto.csv"
    storage = context.storage_url
    settings = {**context.recorded(), "study_name": context.study_name, "storage": mask_url(storage)}
    files["report.md"] = out / "report.md"
    write_report(
        out / "report.md",
        title=context.study_name,
        settings=settings,
        command=context.settings.rerun_command(),
        table=context.table,
        rows=rows,
        best=best,
        fits=fits,
        budget_ms=budget,
        budget_label=label,
        references=refs,
        files=files,
        signal=context.signal(),
    )
    return SearchResult(
        out=out,
        study_name=context.study_name,
        storage=storage,
        rows=rows,
        best=best,
        fits=fits,
        budget_ms=budget,
        references=refs,
        files=files,
    )


def _inherited(context: SearchContext, arch: Any) -> Any:
    """The best's weights inherited from the search's supernet (BN recalibrated), or None for a proxy without weights."""
    inherit = getattr(context.proxy, "inherited_weights", None)
    if inherit is None or context.data is None:
        return None
    from nas.exporting.deploy import TrainedWeights

    stored, state, meta = inherit(arch, seed=context.proxy_seed, data=context.data)
    return TrainedWeights(context.out / "best" / "weights.pt", stored, state, meta)


def summary(result: SearchResult, *, top: int = 5) -> str:
    """A short table for the terminal: chosen trial, best few within the budget, the references."""
    done = [r for r in result.rows if r.complete]
    ranked = sorted(
        (r for r in done if result.budget_ms is None or r.latency_ms <= result.budget_ms), key=lambda r: (-(r.score or 0.0), r.latency_ms)
    )[:top]
    lines = [f"{'':2}{'trial / network':<22}{'proxy':>12}{'latency ms':>12}{'MMACs':>9}{'params':>12}"]
    for r in ranked:
        mark = "* " if r.number == result.best.number else "  "
        lines.append(f"{mark}{'trial ' + str(r.number):<22}{r.proxy:>12.5g}{r.latency_ms:>12.3f}{r.macs / 1e6:>9.1f}{r.params:>12,}")
    for ref in result.references:
        proxy = f"{ref.proxy:>12.5g}" if ref.proxy is not None else f"{'–':>12}"
        latency = f"{ref.latency_ms:>12.3f}" if ref.latency_ms is not None else f"{'–':>12}"
        lines.append(f"  {ref.name:<22}{proxy}{latency}{ref.macs / 1e6:>9.1f}{ref.params:>12,}")
    failed = sum(r.state == "FAIL" for r in result.rows)
    budget = f"{result.budget_ms:.3f} ms" if result.budget_ms is not None else "none"
    lines.append(
        f"{len(done)} complete, {failed} failed trials; budget {budget}; chosen trial {result.best.number}"
        f"{'' if result.fits else ' (NO trial fits the budget: fastest chosen)'}; outputs in {result.out}/"
    )
    return "\n".join(lines)


def search(context: SearchContext, *, progress: bool = True, export_formats: tuple[str, ...] | None = None) -> SearchResult:
    try:
        run_trials(context, progress=progress)
        result = finish(context, export_formats=export_formats, progress=progress)
    except (optuna.exceptions.StorageInternalError, SQLAlchemyError) as error:  # e.g. a full disk while the study grows
        raise StorageError(
            f"--storage {mask_url(context.storage_url)}: cannot write: {root_cause(error)}; the study keeps the trials "
            "written so far: free space (or fix the storage) and rerun the same command to resume"
        ) from None
    if progress:
        print(context.signal(), file=sys.stdout)
        print(summary(result), file=sys.stdout)
        print("\n".join(export_lines(result.out / "best")), file=sys.stdout)
        print(table_note(context.table, context.device.name, context.space.name), file=sys.stdout)
    return result


def root_cause(error: BaseException) -> str:
    """The first line of the innermost cause (the driver's own words, e.g. ``database or disk is full``)."""
    while error.__cause__ is not None:
        error = error.__cause__
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def table_note(table: Any, device: str, space: str = "SPACE") -> str:
    """One line saying where the latencies came from; modelled numbers are never passed off as measured."""
    where = f"{table.source} table {table.path}"
    if table.source == "modelled":
        return (
            f"latencies: {where} -- MODELLED from published whole-network timings, not measured on the device; "
            f"measure it with `nas-profile --device {device} --backend bundle --out bundle/ --space SPACE` (see README)"
        )
    from nas.latency.host import host_mismatch

    mismatch = host_mismatch(table.header, device=device, space=space)
    return f"latencies: {where}" + (f"\nWARNING: {mismatch}" if mismatch else "")
