"""Bundle round trip: bundle → standalone runner (CPU provider, real subprocess) → import = direct CPU profile."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nas.cli import profile, profile_import
from nas.devices import get_device
from nas.latency.backends import make_backend
from nas.latency.backends.bundle import write_bundle
from nas.latency.profile import space_jobs
from nas.latency.table import LatencyTable
from nas.space import get_space

TINY = """
name: tiny
description: two searched blocks at 32x32, for the bundle round trip
resolution: 32
num_classes: 10
defaults: {act: relu}
stem: {type: conv, out: 8, kernel: 3, stride: 2}
head: {out: 32, scaling: none}
stages:
  - {out: 16, stride: 2, layers: 1, block: {type: [ibn, fused_ibn], kernel: 3, expansion: 4}}
"""


@pytest.fixture()
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


def test_bundle_round_trip_equals_direct_profile(tiny: Path, tmp_path: Path) -> None:
    bundle, table_path, results = tmp_path / "bundle", tmp_path / "cpu-bundle.yaml", tmp_path / "results.csv"
    args = ["--device", "cpu", "--backend", "bundle", "--out", str(bundle), "--space", str(tiny), "--table", str(table_path)]
    assert profile.main(args) == 0
    manifest = json.loads((bundle / "manifest.json").read_text())
    jobs = space_jobs(*get_space(tiny).ops(), "fp32")
    assert sorted(op["key"] for op in manifest["ops"]) == sorted(job.key for job in jobs)
    assert (bundle / "run_bundle.py").exists()

    # the runner is standalone: run it from another folder with a plain interpreter
    runner = [
        sys.executable,
        str(bundle / "run_bundle.py"),
        str(bundle),
        "--provider",
        "CPUExecutionProvider",
        "--out",
        str(results),
        "--runs",
        "200",
    ]
    subprocess.run(runner, check=True, cwd=tmp_path, capture_output=True, timeout=120)
    assert profile_import.main([str(results), "--device", "cpu", "--table", str(table_path)]) == 0
    imported = LatencyTable.load(table_path)
    assert imported.source == "measured" and imported.header["backend"] == "bundle"

    direct = (
        make_backend("ort", device=get_device("cpu"), provider="CPUExecutionProvider", out=None, threads=1)
        .measure(jobs, precision="fp32")
        .entries
    )
    assert set(imported.entries) == set(direct)
    close = [abs(imported.entries[k].median_ms - direct[k].median_ms) <= 0.3 * direct[k].median_ms + 0.01 for k in direct]
    assert sum(close) >= len(close) - 1, {k: (imported.entries[k].median_ms, direct[k].median_ms) for k in direct}


def test_runner_resumes_and_int8_bundle_is_qdq(tiny: Path, tmp_path: Path) -> None:
    jobs = space_jobs(*get_space(tiny).ops(), "int8")[:2]
    bundle = tmp_path / "b8"
    write_bundle(jobs, bundle, device="dsp", precision="int8")
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["precision"] == "int8" and all(op["file"].endswith(".int8.onnx") for op in manifest["ops"])
    import onnx

    ops = {node.op_type for node in onnx.load(str(bundle / manifest["ops"][0]["file"])).graph.node}
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    results = tmp_path / "r.csv"
    header_and_one = (
        "key,median_ms,p10_ms,p90_ms,runs,provider,runtime_version,host\n" + f"{jobs[0].key},1,1,1,1,CPUExecutionProvider,x,y\n"
    )
    results.write_text(header_and_one)
    runner = [sys.executable, str(bundle / "run_bundle.py"), str(bundle), "--out", str(results), "--runs", "5", "--min-seconds", "0"]
    subprocess.run(runner, check=True, capture_output=True, timeout=120)
    lines = results.read_text().splitlines()
    assert len(lines) == 3 and lines[1].startswith(jobs[0].key + ",1,")  # finished op kept, only the other one timed


def test_import_rejects_a_modelled_table_and_bad_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    assert profile_import.main([str(bad), "--device", "cpu", "--table", str(tmp_path / "t.yaml")]) == 2
    assert "not a bundle runner CSV" in capsys.readouterr().err


def test_a_bundle_writes_no_empty_table_that_the_device_would_prefer(tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Building a bundle for a modelled device measures nothing yet: the device keeps using its modelled table."""
    monkeypatch.setenv("NAS_TABLE_DIR", str(tmp_path / "store"))
    dsp = get_device("dsp")
    assert profile.main(["--device", "dsp", "--backend", "bundle", "--out", str(tmp_path / "bundle"), "--space", str(tiny)]) == 0
    assert (tmp_path / "bundle" / "manifest.json").exists()
    assert not dsp.measured_table_path().exists()
    assert dsp.load_table().source == "modelled"
