"""nas-export --weights --data as a real subprocess: the summary lines, and bad --weights refused in one line with --out untouched."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from nas.weights import save_weights
from nas.builder import build_model
from tests.exporting.test_trained_export import arch, trained_weights, write_imagefolder
from tests.reliability.helpers import cli_env, run_cli


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def data(tmp_path: Path) -> tuple[str, dict[str, str]]:
    return f"imagefolder:{write_imagefolder(tmp_path / 'images')}", cli_env(NAS_CACHE=str(tmp_path / "cache"))


def test_trained_export_prints_accuracy_and_latency(tmp_path: Path, data: tuple[str, dict[str, str]]) -> None:
    from nas.proxies.data import load_data

    spec, env = data
    weights, _ = trained_weights(tmp_path / "w.pt", load_data(spec))
    done = run_cli("nas-export", "--weights", weights, "--data", spec, "--out", tmp_path / "out", "--eval-images", 8, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "trained weights: " in done.stdout and "UNTRAINED" not in done.stdout
    assert "int8: static QDQ, percentile calibration on 40 inputs (training split of imagefolder:" in done.stdout
    assert "top-1 on a seeded subset of 8 of the 20 test images" in done.stdout and "(drop " in done.stdout
    assert "latency on this host" in done.stdout and "fp32 " in done.stdout and "int8 " in done.stdout
    record = json.loads((tmp_path / "out" / "export.json").read_text())
    assert record["files"] == {"yaml": "arch.yaml", "onnx": "model.onnx", "int8": "model.int8.onnx"}


def test_an_untrained_export_says_so_on_stdout(tmp_path: Path) -> None:
    done = run_cli("nas-export", arch().to_string(), "--out", tmp_path / "out", "--format", "yaml,int8")
    assert done.returncode == 0, done.stderr
    assert "UNTRAINED" in done.stdout and "int8 was calibrated on random noise" in done.stdout
    assert "next: nas-train " in done.stdout and "nas-export --weights " in done.stdout


def test_bad_weights_fail_in_one_line_and_leave_out_unchanged(tmp_path: Path, data: tuple[str, dict[str, str]]) -> None:
    spec, env = data
    out = tmp_path / "out"
    assert run_cli("nas-export", arch().to_string(), "--out", out, "--format", "yaml,onnx", env=env).returncode == 0
    before = _snapshot(out)
    good = save_weights(tmp_path / "good.pt", arch=arch(), state_dict=build_model(arch()).state_dict())
    other = replace(arch(), blocks=arch().blocks[:-1])
    cases = {
        "no such file": tmp_path / "absent.pt",
        "another architecture": save_weights(tmp_path / "other.pt", arch=other, state_dict=build_model(other).state_dict()),
        "not a readable nas-weights file": tmp_path / "truncated.pt",
    }
    (tmp_path / "truncated.pt").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    for expected, weights in cases.items():
        done = run_cli("nas-export", arch().to_string(), "--weights", weights, "--data", spec, "--out", out, env=env)
        assert done.returncode == 2, (expected, done.stdout, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1 and expected in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert _snapshot(out) == before, expected
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) == []  # nothing was staged
