"""experiments/deploy_cifar.py: the bank of deployed runs, its summary, and runs without weights skipped."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from experiments import deploy_cifar


def deployed(seed: int, fp32: float, int8: float, predicted_int8: float | None) -> dict:
    measured = {p: {"median_ms": m, "p10_ms": m - 0.05, "p90_ms": m + 0.1, "runs": 200} for p, m in (("fp32", 0.3), ("int8", 0.4))}
    tables = {
        "cpu": {"precision": "fp32", "predicted_ms": 0.25, "measured_median_ms": 0.3, "measured_over_predicted": 1.2, "why_not": None},
        "cpu-int8": {
            "precision": "int8",
            "predicted_ms": predicted_int8,
            "measured_median_ms": 0.4,
            "measured_over_predicted": None if predicted_int8 is None else 0.4 / predicted_int8,
            "why_not": None if predicted_int8 else "no entry for 3 op(s)",
        },
    }
    return {
        "net": "cpu-0.35",
        "seed": seed,
        "torch_test_top1": fp32,
        "accuracy": {"fp32_top1": fp32, "int8_top1": int8, "drop_points": fp32 - int8, "images": 10000, "split": "all"},
        "int8_calibration": {"method": "percentile", "images": 256},
        "latency": {"measured": measured, "host": {"model_name": "cpu X", "cpus": 1, "runtime_version": "1.32.0"}},
        "tables": tables,
        "loadavg_1min": {"before": 1.0, "after": 1.5},
        "command": "python -m experiments.deploy_cifar",
        "finished": f"2026-12-02T04:0{seed}:00Z",
    }


def test_report_gives_each_run_and_the_mean_drop_over_seeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deploy_cifar, "BANK", tmp_path / "deploy_cifar.json")
    monkeypatch.setattr(deploy_cifar, "RESULTS", tmp_path)
    deploy_cifar.bank_run("a", deployed(0, 70.0, 69.5, 0.5))
    deploy_cifar.bank_run("b", deployed(1, 72.0, 70.5, None))
    deploy_cifar.report()
    text = (tmp_path / "deploy_cifar.md").read_text()
    assert "| cpu-0.35 | 0 | 70.00 | 70.00 | 69.50 | 0.50 | percentile, 256 train images | 0.300 (0.250–0.400) | 0.250 (×1.20) |" in text
    assert "| 0.400 (0.350–0.500) | 0.500 (×0.80) | 1.00 → 1.50 |" in text and "| not priced |" in text
    assert "| cpu-0.35 | 0, 1 | 71.00 ± 1.41 | 70.00 ± 0.71 | 1.00 ± 0.71 | 0.300 | 0.400 |" in text
    assert "Not priced by the committed table(s) cpu-int8: no entry for 3 op(s)" in text


def test_runs_without_weights_are_skipped_and_nothing_is_banked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    train_bank = tmp_path / "train.json"
    train_bank.write_text(json.dumps({"runs": {"cpu-0.35-e3-seed0": {"net": "cpu-0.35", "seed": 0, "arch": "x"}}}))
    monkeypatch.setattr(deploy_cifar, "BANK", tmp_path / "deploy_cifar.json")
    monkeypatch.setattr(sys, "argv", ["deploy_cifar", "--train-bank", str(train_bank), "--runs", str(tmp_path / "runs")])
    deploy_cifar.main()
    assert "weights.pt is not there" in capsys.readouterr().out and not (tmp_path / "deploy_cifar.json").exists()
