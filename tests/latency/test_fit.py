"""Fitted tables: NNLS per-op costs from whole-model timings predict held-out architectures."""

from __future__ import annotations

import csv
import random
import tempfile
from pathlib import Path

import pytest

from nas.cli import profile_fit
from nas.devices import get_device
from nas.latency.fit import fit_costs, fit_table, held_out_figures
from nas.latency.table import LatencyTable
from nas.space import get_space


def synthetic(n: int, seed: int = 0) -> tuple[list, dict[str, float]]:
    """Archs priced by a known per-op cost table (+ offset and 2 % noise)."""
    from nas.latency.signature import arch_keys

    space = get_space("nas_bench_macro")
    rng = random.Random(seed)
    costs: dict[str, float] = {}
    samples = []
    for i in range(n):
        arch = space.random(rng)
        keys = [key for _, key in arch_keys(arch, "fp32")]
        for key in keys:
            costs.setdefault(key, rng.uniform(0.05, 1.0))
        samples.append((arch, (0.2 + sum(costs[k] for k in keys)) * rng.uniform(0.98, 1.02)))
    return samples, costs


def test_nnls_recovers_known_costs_from_synthetic_timings() -> None:
    samples, costs = synthetic(300)
    fit = fit_costs(samples[:240], "fp32")
    figures = held_out_figures(fit, samples[240:], "fp32")
    assert figures["within_5pct"] >= 0.95
    assert all(ms >= 0 for ms in fit.costs.values())


def test_fit_cli_writes_a_fitted_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    samples, _ = synthetic(60, seed=1)
    csv_path = tmp_path / "m.csv"
    with csv_path.open("w", newline="") as handle:  # arch strings contain commas: let csv quote them
        writer = csv.writer(handle)
        writer.writerow(["arch", "latency_ms"])
        writer.writerows((arch.to_string(), ms) for arch, ms in samples)
    assert profile_fit.main([str(csv_path), "--device", "cpu", "--table", str(tmp_path / "f.yaml")]) == 0
    table = LatencyTable.load(tmp_path / "f.yaml")
    assert table.source == "fitted" and "held_out" in table.header["fidelity"]
    assert abs(table.latency(samples[0][0]) / samples[0][1] - 1) < 0.1
    assert "within ±10 %" in capsys.readouterr().out
    (tmp_path / "bad.csv").write_text("x,y\n")
    assert profile_fit.main([str(tmp_path / "bad.csv"), "--device", "cpu"]) == 2


@pytest.mark.slow
def test_fit_from_measured_cpu_timings_predicts_held_out_archs() -> None:
    """≥ 100 whole-model ORT timings on cpu → fitted table → ≥ 90 % of held-out archs within ±10 %."""
    import torch

    from nas.latency.profile import TimingOptions, export_network, time_models_interleaved

    torch.set_num_threads(1)
    space = get_space("nas_bench_macro")
    rng = random.Random(0)
    archs = list({arch: None for arch in (space.random(rng) for _ in range(140))})[:125]
    with tempfile.TemporaryDirectory() as tmp:
        models = [(export_network(arch, Path(tmp), precision="fp32", name=f"a{i}"), (1, 3, 32, 32)) for i, arch in enumerate(archs)]
        # On a shared machine a burst of other work can spoil a few of the timings the fit is judged against
        # (3 of 25 held-out archs outside ±10 % once, MAPE 4 %): a miss is timed once more, a second miss fails.
        for _attempt in range(2):
            timed = time_models_interleaved(
                models, provider="CPUExecutionProvider", options=TimingOptions(threads=1), rounds=10, runs_per_round=20
            )
            samples = [(arch, entry.median_ms) for arch, (entry, _) in zip(archs, timed)]
            table = fit_table(samples, device=get_device("cpu"), precision="fp32", holdout=0.2, seed=0)
            figures = table.header["fidelity"]["held_out"]
            if figures["within_10pct"] >= 0.9:
                break
    assert figures["archs"] == 25
    assert figures["within_10pct"] >= 0.9, figures
