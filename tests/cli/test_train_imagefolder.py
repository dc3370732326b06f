"""The documented path on an ImageFolder of JPEGs, end to end: nas-train, then nas-export --weights with int8 calibrated on its images."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.exporting.test_trained_export import CLASSES, TEST_PER_CLASS, TRAIN_PER_CLASS, write_imagefolder

ARCH = "r16_n4,conv_k3_s2_c8_relu,ibn_k3_s1_e2_c8_relu,ibn_k3_s2_e2_c16_relu,head_none"


def command(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=300, env=os.environ.copy())


@pytest.mark.slow
def test_train_then_export_an_imagefolder_of_jpegs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAS_CACHE", str(tmp_path / "cache"))
    spec = f"imagefolder:{write_imagefolder(tmp_path / 'images')}"
    trained = command("nas.cli.train", ARCH, "--data", spec, "--out", str(tmp_path / "train"), "--epochs", "2", "--batch", "8", "--quiet")
    assert trained.returncode == 0, trained.stderr
    result = json.loads((tmp_path / "train" / "result.json").read_text())
    assert result["test_images"] == CLASSES * TEST_PER_CLASS and result["data"] == spec
    exported = command(
        "nas.cli.export", "--weights", str(tmp_path / "train" / "weights.pt"), "--data", spec, "--out", str(tmp_path / "deploy")
    )
    assert exported.returncode == 0, exported.stderr
    record = json.loads((tmp_path / "deploy" / "export.json").read_text())
    calibration, accuracy = record["int8_calibration"], record["accuracy"]
    assert record["trained"] and calibration["real_images"] and calibration["source"] == f"training split of {spec}"
    assert calibration["images"] == CLASSES * TRAIN_PER_CLASS  # fewer than 256 here: all of them, and it says so
    assert "fewer than --calibration-images" in calibration["note"]
    assert accuracy["images"] == CLASSES * TEST_PER_CLASS and accuracy["int8_top1"] is not None
    assert set(record["latency"]["measured"]) == {"fp32", "int8"}
    assert (tmp_path / "deploy" / "model.int8.onnx").is_file() and "int8" in exported.stdout
