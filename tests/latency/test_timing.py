"""One outlier rule: nas.latency.timing, repeated by the standalone bundle runner (which cannot import nas)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from nas.latency.backends.bundle import RUNNER
from nas.latency.timing import MAD_TO_SIGMA, OUTLIER_MADS, kept_runs, summarise


def _runner():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bundle_runner_copy", RUNNER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rule_drops_runs_above_five_sigmas_only() -> None:
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
        times = np.concatenate([rng.normal(1.0, 0.05, 200), rng.uniform(1.0, 3.0, 10)])
        assert np.array_equal(runner.kept_runs(times), kept_runs(times))
    assert (runner.OUTLIER_MADS, runner.MAD_TO_SIGMA) == (OUTLIER_MADS, MAD_TO_SIGMA)
