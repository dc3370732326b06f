"""experiments/train_cifar.py: the two networks of the CIFAR study, the bank of finished runs and its summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from experiments import train_cifar
from nas import count


def test_the_networks_are_the_ones_of_the_cifar_study() -> None:
    nets = train_cifar.architectures()
    assert set(nets) == {"MobileNetV2-0.35", "cpu-0.35"}
    assert count(nets["MobileNetV2-0.35"]).params == 408938 and count(nets["cpu-0.35"]).params == 479562  # cifar_search.json's rows


def test_banked_runs_are_summarised_per_network_and_schedule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(train_cifar, "BANK", tmp_path / "train_cifar.json")
    monkeypatch.setattr(train_cifar, "RESULTS", tmp_path)
    for seed, top1 in ((0, 70.0), (1, 72.0)):
        train_cifar.bank_run(
            f"MobileNetV2-0.35-e3-b128-lr0.1-seed{seed}",
            {
                "net": "MobileNetV2-0.35",
                "seed": seed,
                "epochs": 3,
                "batch": 128,
                "lr": 0.1,
                "test_top1": top1,
                "test_top5": 97.0,
                "final_val_top1": top1 - 1,
                "train_seconds": 1800.0,
                "host": "cpu X",
            },
        )
    assert set(train_cifar.load_bank()["runs"]) == {"MobileNetV2-0.35-e3-b128-lr0.1-seed0", "MobileNetV2-0.35-e3-b128-lr0.1-seed1"}
    train_cifar.report()
    row = next(line for line in (tmp_path / "train_cifar.md").read_text().splitlines() if line.startswith("| MobileNetV2"))
    assert "| 0, 1 | 71.00 ± 1.41 | 97.00 | 70.00 | 30 min (median) | cpu X |" in row
