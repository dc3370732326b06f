"""The host's speed drift, measured: a reference network timed around op profiling, and re-timed networks later.

On a shared machine the whole host runs faster or slower for minutes at a time (another VM on the
physical core, the neighbour core's cache traffic, frequency): on this project's host by 5-13 %
within minutes even at a load below 1. A table's op entries and its context correction are timed
at one speed; a later check times networks at another. Without a measure of that change, a
method's error and the host's drift read as one number. Two measures, both end to end:

- **while profiling**: one fixed network of the space (its first calibration network) is timed just
  before and just after the space's ops (``SpeedProbe``). Its change is how much the host's speed moved
  while the entries were taken; entries timed across a change of more than ``DRIFT_WARN_PCT`` do
  not agree with each other, and ``nas-profile`` says so and records it in the header
  (``profiling.<space>.speed``).
- **after the table is written**: the networks the fit timed are stored in the header with their
  times (``fidelity.<space>.timed_ms``, by seed). Re-timing them later gives ``drift_ratio``: the
  median of now / then, the host's speed now relative to the speed the table's correction was
  fitted at. It needs no table: measured against measured.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from nas.arch import ArchSpec

DRIFT_WARN_PCT = 5.0  # the reference network's time changed by more than this while ops were timed: warn
PROBE_ROUNDS = 5  # a reading: at least this many rounds of PROBE_RUNS runs and PROBE_SECONDS of them
PROBE_RUNS = 10
PROBE_SECONDS = 0.5
PROBE_WARMUP_S = 0.3


def speed_change_pct(before_ms: float, after_ms: float) -> float:
    """How much slower (+) or faster (−) the host ran the reference network after than before, in percent."""
    return 100.0 * (after_ms / before_ms - 1.0) if before_ms > 0 else 0.0


def drift_ratio(stored_ms: Mapping[str, float], retimed_ms: Mapping[str, float]) -> float | None:
    """Median of re-timed / stored over the networks both have: the host's time factor now against then.

    ``None`` when no network is in both. A ratio of 1.05 means the host now takes 5 % longer than
    when the table was fitted, so a prediction read now should be multiplied by it.
    """
    common = [name for name in stored_ms if name in retimed_ms and stored_ms[name] > 0]
    if not common:
        return None
    return float(np.median([retimed_ms[name] / stored_ms[name] for name in common]))


@dataclass
class SpeedProbe:
    """Times the reference network on demand and keeps every reading (``measure`` returns its time in ms now)."""

    measure: Callable[[], float]
    readings: list[float] = field(default_factory=list)

    def read(self) -> float:
        value = float(self.measure())
        self.readings.append(value)
        return value

    def record(self, *, name: str) -> dict[str, Any]:
        """The header's ``speed`` entry: readings in order and the change from the first to the last."""
        if len(self.readings) < 2:
            raise ValueError("a speed record needs a reading before and after the ops")
        first, last = self.readings[0], self.readings[-1]
        return {
            "reference": name,
            "reference_ms": [round(v, 4) for v in self.readings],
            "change_pct": round(speed_change_pct(first, last), 2),
        }


def drift_warning(label: str, record: Mapping[str, Any], *, redo: str, threshold_pct: float = DRIFT_WARN_PCT) -> str | None:
    """One line when the reference network's time moved by more than ``threshold_pct`` while the ops were timed."""
    change = float(record["change_pct"])
    if abs(change) <= threshold_pct:
        return None
    before, after = record["reference_ms"][0], record["reference_ms"][-1]
    return (
        f"WARNING: {label}: this host's speed changed while its ops were timed: the reference network took {before:.3f} ms "
        f"before and {after:.3f} ms after ({change:+.1f} %, more than ±{threshold_pct:g} %); entries timed at two speeds "
        f"do not agree, so predictions may be off by up to that much; to measure again on a quieter machine: {redo}"
    )


class ReferenceNetwork:
    """One network exported and loaded once, timed end to end by the project's timing rule each time it is called.

    The session is kept between readings and warmed up on entry (``PROBE_WARMUP_S``): a first
    session's first runs are slow (allocation, cold caches), which would read as a speed change.
    """

    def __init__(self, arch: ArchSpec, *, precision: str, provider: str = "CPUExecutionProvider") -> None:
        self.arch, self.precision, self.provider = arch, precision, provider
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._run: Callable[[int], list[float]] | None = None

    def __enter__(self) -> ReferenceNetwork:
        from nas.latency.profile import export_network, make_session, random_feed, run_times_ms

        self._scratch = tempfile.TemporaryDirectory(prefix="nas-reference-")
        path = export_network(self.arch, Path(self._scratch.name), precision=self.precision, name="reference")
        session = make_session(path, provider=self.provider, threads=1)
        feed = random_feed(session, (1, self.arch.in_channels, self.arch.resolution, self.arch.resolution))
        self._run = lambda runs: run_times_ms(session, feed, runs)
        start = time.perf_counter()
        while time.perf_counter() - start < PROBE_WARMUP_S:
            self._run(PROBE_RUNS)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self._run = None
        if self._scratch is not None:
            self._scratch.cleanup()

    def __call__(self) -> float:
        """The rule's estimate over at least ``PROBE_ROUNDS`` rounds and ``PROBE_SECONDS`` of runs."""
        from nas.latency.timing import estimate

        if self._run is None:
            raise RuntimeError("use ReferenceNetwork as a context manager")
        rounds: list[list[float]] = []
        start = time.perf_counter()
        while len(rounds) < PROBE_ROUNDS or time.perf_counter() - start < PROBE_SECONDS:
            rounds.append(self._run(PROBE_RUNS))
        return estimate(rounds).median_ms


__all__ = ["DRIFT_WARN_PCT", "ReferenceNetwork", "SpeedProbe", "drift_ratio", "drift_warning", "speed_change_pct"]
