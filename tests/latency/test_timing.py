"""One timing rule: nas.latency.timing, repeated by the standalone bundle runner (which cannot import nas)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from nas.latency.backends.bundle import RUNNER
from nas.latency.timing import MAD_TO_SIGMA, OUTLIER_MADS, estimate, kept_runs, relative_error, summarise


def _runner():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bundle_runner_copy", RUNNER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _busy_rounds(rng: np.random.Generator, *, busy: float, rounds: int = 20, runs: int = 10) -> list[list[float]]:
    """Runs of a 1 ms model; a share ``busy`` of them preempted (+0.5..1.5 ms), as on a shared core."""
    times = 1.0 + rng.normal(0, 0.01, (rounds, runs))
    hit = rng.random((rounds, runs)) < busy
    times[hit] += rng.uniform(0.5, 1.5, hit.sum())
    return times.tolist()


def test_estimate_is_the_10th_percentile_of_all_runs() -> None:
    rounds = [[3.0, 1.0, 2.0, 8.0], [5.0, 4.0], [1.5, 9.0, 7.0]]
    runs = [t for r in rounds for t in r]
    entry = estimate(rounds)
    assert entry.median_ms == pytest.approx(np.percentile(runs, 10)) and entry.runs == 9
    assert entry.p10_ms == entry.median_ms and entry.p90_ms == pytest.approx(np.percentile(runs, 90))
    with pytest.raises(ValueError):
        estimate([[]])


def test_estimate_does_not_follow_how_busy_the_core_was() -> None:
    """The reason for the rule: the median of all runs moves with the share of preempted runs; the rule does not."""
    rng = np.random.default_rng(0)
    quiet, busy = _busy_rounds(rng, busy=0.05), _busy_rounds(rng, busy=0.6)
    assert estimate(busy).median_ms / estimate(quiet).median_ms == pytest.approx(1.0, abs=0.03)
    assert np.median(busy) / np.median(quiet) > 1.2  # what the earlier rule (median of all runs) reported


def test_a_disturbed_spell_longer_than_half_the_rounds_does_not_move_it() -> None:
    """Spells, not single runs: 70 % of the rounds wholly disturbed. The median of round minima follows them; the rule does not."""
    rng = np.random.default_rng(2)
    rounds = _busy_rounds(rng, busy=0.0, rounds=20)
    spelled = [[t + 1.0 for t in r] if i < 14 else r for i, r in enumerate(rounds)]
    assert estimate(spelled).median_ms == pytest.approx(estimate(rounds).median_ms, rel=0.03)
    assert np.median([min(r) for r in spelled]) > 1.5


def test_relative_error_falls_with_more_rounds_and_is_infinite_below_four() -> None:
    rng = np.random.default_rng(1)
    rounds = _busy_rounds(rng, busy=0.3, rounds=200)
    assert relative_error(rounds[:3]) == float("inf")
    draws = [_busy_rounds(rng, busy=0.3, rounds=200) for _ in range(20)]
    assert np.mean([relative_error(d) for d in draws]) < np.mean([relative_error(d[:8]) for d in draws]) / 2
    drifting = [[t * (1 + 0.05 * i) for t in r] for i, r in enumerate(rounds[:8])]  # the machine slowed while timing
    assert relative_error(drifting) > relative_error(rounds[:8])


def test_cuda_rule_drops_values_above_five_sigmas_only() -> None:
    times = [1.0, 1.1, 0.9, 1.0, 1.05, 0.95, 1.0, 5.0]
    mad = float(np.median(np.abs(np.array(times) - 1.0)))
    kept = kept_runs(times)
    assert 5.0 not in kept and len(kept) == 7
    assert np.all(kept <= 1.0 + OUTLIER_MADS * MAD_TO_SIGMA * mad)
    edge = 1.0 + 5 * mad * 1.2  # beyond 5 raw MADs, inside 5 × 1.4826 MADs: kept
    assert edge in kept_runs([*times[:-1], edge])
    entry = summarise(times)
    assert entry.runs == 7 and entry.median_ms == pytest.approx(1.0) and entry.p90_ms < 1.2
    assert summarise(times, runs=800).runs == 800


def test_bundle_runner_applies_the_same_rule() -> None:
    runner = _runner()
    rng = np.random.default_rng(0)
    for _ in range(20):
        rounds = _busy_rounds(rng, busy=float(rng.uniform(0, 0.6)), rounds=int(rng.integers(1, 30)))
        entry = estimate(rounds)
        assert runner.estimate(rounds) == (entry.median_ms, entry.p10_ms, entry.p90_ms, entry.runs)
    from nas.latency.profile import TimingOptions

    assert runner.ROUND_RUNS == TimingOptions.round_runs
