"""The one timing-statistics rule every onnxruntime timing uses, and ``Measured`` (one network's end-to-end time).

Runs are taken in rounds of consecutive runs, and a model's latency is the **10th percentile of all
its runs** (its fastest tenth). Why: on a shared machine, noise only ever adds time, and it comes in
spells: another process on the same core pre-empts runs (a whole network of 5 ms rarely escapes a
3 ms scheduler slice), a neighbour on the other core evicts the shared cache for seconds at a time.
The median of all runs follows how much of the time was disturbed, which changes from minute to
minute; so does the median of the rounds' fastest runs once more than half the rounds fall in a
disturbed spell. The 10th percentile only needs a tenth of the runs to be undisturbed, and unlike
the single fastest run it does not hang on one lucky run. ``experiments/timing_rule_check.py``
compares these statistics pass against pass on this project's shared host (experiments/README.md).
Op entries and whole networks use the same rule, so the context correction fitted between them
compares like with like. A table entry keeps the estimate in its first column (``median_ms``, the
table format's name for "the latency"), which therefore equals its ``p10_ms``; ``p90_ms`` is the
90th percentile of the runs, so ``(p90 − p10) / estimate`` is still how noisy the runs were.

The bundle runner, which runs on a device without this package, repeats the rule; a test checks
that both agree. CUDA-graph timings (``backends/torch_cuda``) average many replays per round on a
device no other process shares and keep ``summarise``: the median of round means, slow outliers
(``median + 5 × 1.4826 × MAD``, about five sigmas) dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nas.latency.table import Entry

QUANTILE = 10.0  # percent: the estimate is this percentile of all runs
ROUND_RULE = "10th percentile of all runs (the fastest tenth), kept as median_ms (= p10_ms); p90_ms of all runs"
OUTLIER_MADS = 5.0
MAD_TO_SIGMA = 1.4826  # MAD of normal noise × 1.4826 = its standard deviation


def _all_runs(rounds: Sequence[Sequence[float]]) -> np.ndarray:
    return np.array([t for r in rounds for t in r], dtype=float)


def round_values(rounds: Sequence[Sequence[float]]) -> np.ndarray:
    """Each non-empty round's own 10th percentile (the round-to-round view of the estimate)."""
    return np.array([np.percentile(r, QUANTILE) for r in rounds if len(r)], dtype=float)


def estimate(rounds: Sequence[Sequence[float]]) -> Entry:
    """The rule: the 10th percentile of all runs (as ``median_ms``, equal to ``p10_ms``), their p90, and how many."""
    runs = _all_runs(rounds)
    if not runs.size:
        raise ValueError("no timed runs")
    p10, p90 = np.percentile(runs, [QUANTILE, 90])
    return Entry(float(p10), float(p10), float(p90), int(runs.size))


def relative_error(rounds: Sequence[Sequence[float]]) -> float:
    """Split-half check of the estimate: |even rounds' − odd rounds' estimate| / their sum (inf below 4 rounds).

    Half the relative difference of two independent halves is about the estimate's relative standard
    error, and a drift of the machine during the timing shows up in it too. Profiling stops adding
    rounds once this is small.
    """
    if len([r for r in rounds if len(r)]) < 4:
        return float("inf")
    even = float(np.percentile(_all_runs(rounds[0::2]), QUANTILE))
    odd = float(np.percentile(_all_runs(rounds[1::2]), QUANTILE))
    return abs(even - odd) / (even + odd) if even + odd > 0 else 0.0


def kept_runs(times: Sequence[float], *, outlier_mads: float = OUTLIER_MADS) -> np.ndarray:
    """The runs left after dropping slow outliers (the CUDA-graph rule: values that each average many replays)."""
    values = np.asarray(times, dtype=float)
    median = float(np.median(values))
    mad = float(np.median(np.abs(values - median))) or 1e-9
    return values[values <= median + outlier_mads * MAD_TO_SIGMA * mad]


def summarise(times: Sequence[float], *, outlier_mads: float = OUTLIER_MADS, runs: int | None = None) -> Entry:
    """Median, p10, p90 of the kept values; ``runs`` overrides the count when each value averages many runs."""
    kept = kept_runs(times, outlier_mads=outlier_mads)
    count = int(kept.size) if runs is None else runs
    return Entry(float(np.median(kept)), float(np.percentile(kept, 10)), float(np.percentile(kept, 90)), count)


@dataclass(frozen=True)
class Measured:
    """End-to-end latency of one network: the rule's estimate, and how much its rounds disagreed."""

    median_ms: float
    p10_ms: float
    p90_ms: float
    runs: int
    round_spread: float  # interquartile range of the rounds' own estimates / the estimate: round-to-round repeatability

    def to_dict(self) -> dict[str, float]:
        return {
            "median_ms": self.median_ms,
            "p10_ms": self.p10_ms,
            "p90_ms": self.p90_ms,
            "runs": self.runs,
            "round_spread": self.round_spread,
        }

    @classmethod
    def of(cls, entry: Any, round_values: Sequence[float]) -> Measured:
        """An entry's figures plus the IQR of its per-round values over its median (0 for a zero median)."""
        q1, q3 = np.percentile(round_values, [25, 75])
        spread = float(q3 - q1) / entry.median_ms if entry.median_ms > 0 else 0.0
        return cls(entry.median_ms, entry.p10_ms, entry.p90_ms, entry.runs, spread)


__all__ = [
    "MAD_TO_SIGMA",
    "OUTLIER_MADS",
    "ROUND_RULE",
    "Measured",
    "QUANTILE",
    "estimate",
    "kept_runs",
    "relative_error",
    "round_values",
    "summarise",
]
