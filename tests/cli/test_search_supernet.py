"""nas-search --proxy supernet --supernet DIR: a real search in a subprocess, and one line for a mismatched file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nas.proxies.data import synthetic_data
from nas.space import get_space
from nas.supernet import Supernet
from nas.supernet.checkpoint import save_supernet
from tests.study.tiny import build_tiny_table

pytestmark = pytest.mark.slow


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nas.cli.search", *args], capture_output=True, text=True, timeout=600)


def _supernet(folder: Path, resolution: int) -> Path:
    torch.manual_seed(0)
    data = synthetic_data()  # what --data synthetic loads
    space = get_space("nas_bench_macro", resolution=resolution, num_classes=data.num_classes)
    save_supernet(folder, supernet=Supernet(space=space), data=data, validation={"fraction": 0.1, "seed": 0}, sampling={}, training={})
    return folder


def test_search_with_the_supernet_proxy_and_a_refused_file(tmp_path: Path) -> None:
    table = build_tiny_table(tmp_path / "table")
    common = ["--space", "nas_bench_macro", "--resolution", "16", "--device", str(table), "--data", "synthetic", "--proxy", "supernet"]
    ok = _cli(*common, "--supernet", str(_supernet(tmp_path / "sn16", 16)), "--trials", "4", "--out", str(tmp_path / "run"))
    assert ok.returncode == 0, ok.stderr
    assert "supernet" in (tmp_path / "run" / "report.md").read_text()
    bad = _cli(*common, "--supernet", str(_supernet(tmp_path / "sn32", 32)), "--trials", "4", "--out", str(tmp_path / "bad"))
    assert bad.returncode == 2 and "trained at resolution 32, the search uses 16" in bad.stderr
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    missing = _cli(*common, "--trials", "4", "--out", str(tmp_path / "none"))
    assert missing.returncode == 2 and "needs --supernet DIR" in missing.stderr


def test_data_without_proxy_trains_a_supernet_searches_with_it_and_exports_inherited_weights(tmp_path: Path) -> None:
    table = build_tiny_table(tmp_path / "table")
    out = tmp_path / "run"
    command = ["--space", "nas_bench_macro", "--resolution", "16", "--device", str(table), "--data", "synthetic", "--trials", "4"]
    first = _cli(*command, "--out", str(out))
    assert first.returncode == 0, first.stderr
    assert "training a supernet of nas_bench_macro at 16 px" in first.stdout
    assert "Candidates ranked by proxy `supernet`" in first.stdout and "experiments/results/supernet_macro.md" in first.stdout
    report = (out / "report.md").read_text()
    assert "## Accuracy signal" in report and "experiments/results/supernet_macro.md" in report
    assert "--proxy supernet --supernet" in report  # the rerun line names the signal it used
    assert sorted(p.name for p in (out / "supernet").iterdir()) == [
        "checkpoint.pt",
        "curve.png",
        "metrics.jsonl",
        "result.json",
        "supernet.pt",
    ]
    from nas.arch import ArchSpec
    from nas.weights import load_weights

    best = out / "best"
    assert {"weights.pt", "model.onnx", "model.int8.onnx", "export.json"} <= {p.name for p in best.iterdir()}
    arch = ArchSpec.from_yaml((best / "arch.yaml").read_text())
    stored, state, meta = load_weights(best / "weights.pt", arch=arch)
    assert meta["origin"] == "supernet-inherited" and "BatchNorm recalibrated" in meta["note"]
    from nas.supernet.checkpoint import load_supernet

    supernet, _ = load_supernet(out / "supernet")
    inherited = supernet.extract_state(stored)
    same = [k for k in inherited if "running" not in k and "num_batches" not in k]
    assert all(torch.equal(inherited[k], state[k]) for k in same)  # the weights; BN statistics were recalibrated
    exported = json.loads((best / "export.json").read_text())
    assert exported["weights_origin"] == "supernet-inherited" and exported["int8_calibration"]["real_images"]
    assert exported["accuracy"]["images"] > 0 and "SUPERNET-INHERITED" in (best / "export.md").read_text()
    supernet_file = (out / "supernet" / "supernet.pt").read_bytes()
    again = _cli(*command, "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert "training a supernet" not in again.stdout and (out / "supernet" / "supernet.pt").read_bytes() == supernet_file  # reused


def test_without_data_the_zero_cost_default_ranks_and_the_report_says_so(tmp_path: Path) -> None:
    table = build_tiny_table(tmp_path / "table")
    out = tmp_path / "run"
    result = _cli("--space", "nas_bench_macro", "--resolution", "16", "--device", str(table), "--trials", "4", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "Candidates ranked by proxy `ensemble`" in result.stdout and "experiments/results/proxy_correlation.md" in result.stdout
    assert not (out / "supernet").exists() and not (out / "best" / "weights.pt").exists()
    assert "experiments/results/band_holdout.md" in (out / "report.md").read_text()
