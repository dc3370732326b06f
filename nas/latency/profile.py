"""Profiling: each op of a space → the real torch block → ONNX (fp32 or int8 QDQ) → timed runs.

Tables are priced on the graph that is deployed: the block is built by the same
code as the network, exported with the TorchScript ONNX exporter (opset 17) in
eval mode (BN folded by onnxruntime's optimizer), optionally quantized with
onnxruntime's static QDQ quantization, and timed by onnxruntime with one thread
and ``ORT_ENABLE_ALL``. ``build_table`` is resumable: it skips keys already in
the table and saves atomically every few entries, so a killed run loses at most
the entries since the last save and never leaves a broken file.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nas.arch import ArchSpec
from nas.latency.backends import Backend, Job, MeasureResult
from nas.latency.host import MATTERS
from nas.latency.signature import head_key, op_key
from nas.latency.table import Entry, LatencyTable, TableError, new_header
from nas.latency.timing import ROUND_RULE, estimate, relative_error, round_values
from nas.onnx_export import onnx_model
from nas.space.space import HeadOp, Op


# -- op → torch module -------------------------------------------------------------------------
def op_input_shape(op: Op | HeadOp) -> tuple[int, int, int, int]:
    return (1, op.in_channels, op.in_size, op.in_size)


def op_module(op: Op | HeadOp) -> Any:
    """The torch module a network would contain for this op (eval mode: BN as deployed)."""
    from torch import nn

    from nas.blocks import get_block
    from nas.blocks.layers import ConvBNAct

    if isinstance(op, HeadOp):
        conv: nn.Module = ConvBNAct(in_channels=op.in_channels, out_channels=op.out, act=op.act) if op.out else nn.Identity()
        features = op.out or op.in_channels
        module: nn.Module = nn.Sequential(conv, nn.AdaptiveAvgPool2d(1), nn.Flatten(1), nn.Linear(features, op.num_classes))
    else:
        module = get_block(op.spec.type).module(op.spec, in_channels=op.in_channels)
    _randomise_bn(module)
    return module.eval()


def _randomise_bn(module: Any) -> None:
    """Non-trivial BN statistics, so no exporter or optimizer can treat a layer as identity."""
    import torch
    from torch import nn

    generator = torch.Generator().manual_seed(0)
    for sub in module.modules():
        # running stats are None only for BN built with track_running_stats=False, which no block does
        if isinstance(sub, nn.BatchNorm2d) and sub.running_mean is not None and sub.running_var is not None:
            with torch.no_grad():
                sub.running_mean.copy_(torch.randn(sub.num_features, generator=generator) * 0.1)
                sub.running_var.copy_(torch.rand(sub.num_features, generator=generator) + 0.5)


def op_key_of(op: Op | HeadOp, precision: str) -> str:
    if isinstance(op, HeadOp):
        from nas.arch import HeadSpec

        head = HeadSpec(out=op.out, act=op.act or "relu") if op.out else None
        return head_key(head, in_channels=op.in_channels, in_size=op.in_size, num_classes=op.num_classes, precision=precision)
    return op_key(op.spec, in_channels=op.in_channels, in_size=op.in_size, precision=precision)


def space_jobs(ops: Sequence[Op], heads: Sequence[HeadOp], precision: str) -> list[Job]:
    """One job per distinct key (equal ops from different stages collapse to one entry)."""
    jobs: dict[str, Job] = {}
    every: list[Op | HeadOp] = [*ops, *heads]
    for op in every:
        key = op_key_of(op, precision)
        jobs.setdefault(key, Job(key=key, op=op))
    return list(jobs.values())


def arch_jobs(arch: ArchSpec, precision: str) -> list[Job]:
    """The jobs pricing one architecture (to profile a single arch rather than a space)."""
    ops = [Op(pos.spec, pos.in_channels, pos.in_size) for pos in arch.positions()]
    head = arch.head
    heads = [HeadOp(arch.out_channels, arch.final_size, head.out if head else None, head.act if head else None, arch.num_classes)]
    return space_jobs(ops, heads, precision)


# -- ONNX export (nas.onnx_export: the same exporter and quantization as nas-export) ----------------
def export_op(op: Op | HeadOp, directory: Path, *, precision: str, name: str = "op") -> Path:
    """One op's timing model: fp32, or int8 QDQ for ``precision="int8"``."""
    return onnx_model(op_module(op), op_input_shape(op), Path(directory), precision=precision, name=name)


def export_network(arch: ArchSpec, directory: Path, *, precision: str, name: str = "model") -> Path:
    """The whole network's timing model, exported like its ops (same exporter, opset and quantization)."""
    from nas.builder import build_model

    model = build_model(arch)
    _randomise_bn(model)
    shape = (1, arch.in_channels, arch.resolution, arch.resolution)
    return onnx_model(model.eval(), shape, Path(directory), precision=precision, name=name)


# -- timing ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TimingOptions:
    """How one model is timed (``nas.latency.timing``'s rule): warm-up, then rounds of ``round_runs`` runs.

    An op gets rounds until it has ``min_runs`` runs and ``min_seconds`` of timing and its estimate
    is stable (split-half relative error ≤ ``tolerance``, ``nas.latency.timing.relative_error``), or
    until ``max_runs`` / ``max_seconds``: a steady op stops early, one timed in a busy spell gets more.
    """

    threads: int = 1
    warmup: int = 3
    round_runs: int = 10
    min_runs: int = 40
    max_runs: int = 2000
    min_seconds: float = 0.03
    max_seconds: float = 0.5
    tolerance: float = 0.005
    visits: int = 2  # ops are timed on this many passes over the space, the lowest estimate kept (backends/ort.py)

    def header(self) -> dict[str, Any]:
        return {
            "threads": self.threads,
            "warmup_runs": self.warmup,
            "statistic": ROUND_RULE,
            "round_runs": self.round_runs,
            "visits": f"each op timed on {self.visits} passes over the ops, the lowest estimate kept",
            "min_runs": self.min_runs,
            "min_seconds": self.min_seconds,
            "stop": f"at a split-half relative error <= {self.tolerance:.1%} of the estimate, or {self.max_runs} runs, or {self.max_seconds:g} s",
        }


def make_session(path: Path, *, provider: str, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    providers = [provider] if provider == "CPUExecutionProvider" else [provider, "CPUExecutionProvider"]
    return ort.InferenceSession(str(path), sess_options=options, providers=providers)


def run_times_ms(session: Any, feed: dict[str, np.ndarray], runs: int) -> list[float]:
    """``runs`` back-to-back calls, each timed alone (ms)."""
    times = []
    clock = time.perf_counter_ns
    run = session.run
    for _ in range(runs):
        start = clock()
        run(None, feed)
        times.append((clock() - start) / 1e6)
    return times


def random_feed(session: Any, shape: Sequence[int]) -> dict[str, np.ndarray]:
    name = session.get_inputs()[0].name
    return {name: np.random.default_rng(0).standard_normal(shape).astype(np.float32)}


def spread(entry: Entry) -> float:
    """(p90 − p10) / estimate: how much one op's rounds disagreed."""
    return (entry.p90_ms - entry.p10_ms) / entry.median_ms if entry.median_ms > 0 else 0.0


def time_model(path: Path, shape: Sequence[int], *, provider: str, options: TimingOptions) -> Entry:
    """The rule's estimate for one model, with as many rounds as it takes to be stable (see ``TimingOptions``)."""
    session = make_session(path, provider=provider, threads=options.threads)
    feed = random_feed(session, shape)
    run_times_ms(session, feed, options.warmup)
    rounds: list[list[float]] = []
    runs, start = 0, time.perf_counter()
    while runs < options.max_runs:
        rounds.append(run_times_ms(session, feed, options.round_runs))
        runs += options.round_runs
        elapsed = time.perf_counter() - start
        if elapsed >= options.max_seconds:
            break
        if runs >= options.min_runs and elapsed >= options.min_seconds and relative_error(rounds) <= options.tolerance:
            break
    return estimate(rounds)


def time_models_interleaved(
    models: Sequence[tuple[Path, Sequence[int]]],
    *,
    provider: str,
    options: TimingOptions,
    rounds: int,
    runs_per_round: int,
    progress: Callable[[int], None] | None = None,
) -> list[tuple[Entry, list[float]]]:
    """Round-robin timing of several models, so a noisy spell of the machine hits them all alike.

    Returns, per model, the rule's estimate and each round's own (its round-to-round spread).
    """
    sessions = [make_session(path, provider=provider, threads=options.threads) for path, _ in models]
    feeds = [random_feed(session, shape) for session, (_, shape) in zip(sessions, models)]
    for session, feed in zip(sessions, feeds):
        run_times_ms(session, feed, options.warmup)
    times: list[list[list[float]]] = [[] for _ in models]
    for r in range(rounds):
        for i, (session, feed) in enumerate(zip(sessions, feeds)):
            times[i].append(run_times_ms(session, feed, runs_per_round))
        if progress:
            progress(r)
    return [(estimate(t), [float(v) for v in round_values(t)]) for t in times]


# -- building a table -------------------------------------------------------------------------------
class Saver:
    """``on_entry`` callback: merge each entry and save atomically every ``every`` entries or ``seconds``."""

    def __init__(self, *, table: LatencyTable, path: Path, every: int = 5, seconds: float = 10.0) -> None:
        self.table, self.path, self.every, self.seconds = table, path, every, seconds
        self._pending = 0
        self._last = time.monotonic()

    def __call__(self, key: str, entry: Entry) -> None:
        self.table.entries[key] = entry
        self._pending += 1
        if self._pending >= self.every or time.monotonic() - self._last > self.seconds:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self.table.save(self.path)
        self._pending = 0
        self._last = time.monotonic()


def open_table(path: Path, *, device: Any, backend: Backend, precision: str) -> LatencyTable:
    """The existing table at ``path`` (to extend or resume) or a new one with this backend's provenance."""
    header = new_header(device=device.name, description=device.description, source=backend.source, precision=precision, **backend.header())
    if not Path(path).exists():
        return LatencyTable(header=header, path=Path(path))
    table = LatencyTable.load(path)
    if table.precision != precision:
        raise TableError(f"{path}: table precision is {table.precision}, not {precision}; use --table to write another file")
    if table.source != backend.source:
        raise TableError(
            f"{path}: table is {table.source}, backend {backend.name} gives {backend.source} entries; use --table to write another file"
        )
    for key in ("runtime", "runtime_version", "provider", "threads", "graph_optimization"):
        if key in header and key in table.header and header[key] != table.header[key]:
            raise TableError(
                f"{path}: table {key} is {table.header[key]!r}, this run would use {header[key]!r}; use --table to write another file"
            )
    before, now = table.header.get("host"), header.get("host")
    if isinstance(before, dict) and isinstance(now, dict):
        differ = [name for name in MATTERS if before.get(name) != now.get(name)]
        if differ:
            raise TableError(
                f"{path}: table was measured on another host ({before.get('model_name')!r}; differs in {', '.join(differ)}); "
                "entries of two machines must not mix: use --table to write another file"
            )
    if "statistic" in header and header["statistic"] != table.header.get("statistic", "median of all runs (before the round rule)"):
        raise TableError(
            f"{path}: its entries were timed with another statistic ({table.header.get('statistic', 'median of all runs, an earlier rule')!r}); "
            "entries timed two ways must not mix: use --table to write another file, or delete this one to measure again"
        )
    keep = {k: v for k, v in table.header.items() if k in ("fidelity", "correction", "spaces", "profiling", "notes")}
    table.header = {**header, **keep}
    if "host" in header and not isinstance(before, dict):  # entries of an unrecorded host: the table's host stays unknown
        table.header.pop("host")
    return table


def build_table(
    jobs: Sequence[Job],
    *,
    table: LatencyTable,
    backend: Backend,
    precision: str,
    save_every: int = 5,
    label: str | None = None,
    remeasure_spread: float | None = None,
) -> tuple[MeasureResult, int]:
    """Measure the jobs the table lacks; returns the backend's result and how many were skipped.

    With a ``label`` (``mobiledet@224``), the header's ``profiling`` section records the
    space's distinct-op count and the profiling time spent on it (summed over resumed runs).
    """
    if remeasure_spread is not None:  # explicit repair of entries timed in a disturbed window
        for job in jobs:
            if job.key in table.entries and spread(table.entries[job.key]) > remeasure_spread:
                del table.entries[job.key]
    todo = [job for job in jobs if job.key not in table.entries]
    skipped = len(jobs) - len(todo)
    assert table.path is not None
    cost = table.header.setdefault("profiling", {}).setdefault(label, {"distinct_ops": len(jobs), "seconds": 0.0}) if label else {}
    start, saved_seconds = time.perf_counter(), cost.get("seconds", 0.0)

    def on_entry(key: str, entry: Entry) -> None:
        if label:
            cost["seconds"] = round(saved_seconds + time.perf_counter() - start, 1)
        saver(key, entry)

    saver = Saver(table=table, path=table.path, every=save_every)
    try:
        result = backend.measure(todo, precision=precision, on_entry=on_entry)
        for key, entry in result.entries.items():
            table.entries.setdefault(key, entry)
    finally:
        saver.flush()
    # A table with no entry is never written: a bundle (numbers still to come from the device) must not leave
    # an empty <device>-measured.yaml that the device would then prefer to its modelled table.
    if table.entries and (result.entries or label or not table.path.exists()):
        table.save(table.path)
    return result, skipped
