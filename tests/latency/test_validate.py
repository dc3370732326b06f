"""Fidelity figures and the context correction, on known numbers and on a tiny real space."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nas.latency.table import LatencyTable
from nas.latency.signature import arch_keys
from nas.latency.table import Entry, new_header
from nas.latency.validate import fidelity, fit_correction, macs_scale
from nas.space import get_space


def test_fit_correction_recovers_per_class_context_factors() -> None:
    rng = np.random.default_rng(0)
    sums = [{"ibn": rng.uniform(1, 10), "fused_ibn": rng.uniform(0, 10), "head": rng.uniform(0.1, 0.3)} for _ in range(12)]
    layers = rng.integers(15, 30, size=12)
    overhead, truth = 0.004, {"ibn": 1.01, "fused_ibn": 1.07, "head": 1.0}
    measured = [sum(truth[k] * v for k, v in row.items()) - overhead * (n - 1) for row, n in zip(sums, layers)]
    correction = fit_correction(sums, layers, measured, overhead_ms=overhead, prior_weight=1e-3)
    assert correction["type_scale"] == pytest.approx(truth, abs=2e-3)
    assert correction["calibration_mape_pct"] < 0.1
    # the table applies it on its hot path: keys of a class get that class's factor
    header = new_header(device="cpu", description="t", source="measured", precision="fp32")
    table = LatencyTable(header={**header, "correction": correction}, entries={})
    arch = get_space("mobilenet_v2", resolution=32).arch({})
    table.entries = {key: Entry(1.0, 1.0, 1.0, 1) for _, key in arch_keys(arch, "fp32")}
    n = len(arch.blocks) + 2
    expected = correction["type_scale"]["ibn"] * len(arch.blocks) + 2 * 1.0 + correction["per_layer_ms"] * n + correction["offset_ms"]
    conv = correction["type_scale"].get("conv", 1.0)
    assert table.latency(arch) == pytest.approx(expected - 1.0 + conv, rel=1e-3)
    assert table.predict(arch).latency_ms == pytest.approx(table.latency(arch))


def test_fidelity_figures() -> None:
    measured = [1.0, 2.0, 3.0, 4.0]
    predicted = [1.04, 2.16, 2.97, 4.0]  # +4 %, +8 %, -1 %, 0 %
    f = fidelity(predicted, measured)
    assert f["within_5pct"] == 0.75 and f["within_10pct"] == 1.0
    assert f["mape_pct"] == pytest.approx(3.25) and f["bias_pct"] == pytest.approx(2.75) and f["spearman"] == 1.0
    assert macs_scale([1, 2], [2, 4]) == pytest.approx(2.0)


@pytest.mark.slow
def test_validate_cli_on_a_tiny_space(tmp_path: Path) -> None:
    table_path = tmp_path / "cpu.yaml"
    common = ["--device", "cpu", "--space", "nas_bench_macro", "--resolution", "8"]
    built = subprocess.run(
        [sys.executable, "-m", "nas.cli.profile", *common, "--table", str(table_path), "--min-runs", "5", "--min-seconds", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stderr
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nas.cli.profile",
            "validate",
            *common,
            "--table",
            str(table_path),
            "--samples",
            "4",
            "--rounds",
            "2",
            "--runs",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "nas_bench_macro@8:" in done.stdout and "flops_baseline" in done.stdout
    figures = LatencyTable.load(table_path).header["fidelity"]["nas_bench_macro@8"]
    assert figures["n"] == 4 and 0 <= figures["within_10pct"] <= 1 and "flops_baseline" in figures and "uncorrected" in figures
