"""Profiling: real ONNX export and timing of tiny ops, resumable table building, the nas-profile CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nas.devices import get_device
from nas.latency.backends import BACKENDS, MeasureResult, make_backend
from nas.latency.profile import TimingOptions, build_table, export_op, op_input_shape, open_table, space_jobs, time_model
from nas.latency.table import Entry, LatencyTable
from nas.space import get_space

TINY = ["--space", "nas_bench_macro", "--resolution", "8"]
FAST = TimingOptions(warmup=2, min_runs=5, min_seconds=0.0)


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nas.cli.profile", *args], capture_output=True, text=True, timeout=timeout)


def test_a_second_visit_keeps_each_ops_lower_estimate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A busy spell slows every run of an op timed inside it: the visit outside the spell wins."""
    from nas.latency.backends import ort
    from nas.latency.profile import space_jobs as jobs_of

    ops, heads = get_space("nas_bench_macro", resolution=8).ops()
    jobs = jobs_of(ops, heads, "fp32")[:2]
    # visit 1 times job 0 then job 1; visit 2 goes the other way round (job 1, then job 0)
    estimates = iter([2.0, 1.0, 3.0, 1.5])
    monkeypatch.setattr(ort, "export_op", lambda op, folder, **_: Path(folder) / "op.onnx")
    monkeypatch.setattr(ort, "time_model", lambda *_, **__: (lambda ms: Entry(ms, ms, ms * 1.1, 40))(next(estimates)))
    seen: list[tuple[str, float]] = []
    backend = make_backend("ort", device=get_device("cpu"), timing=TimingOptions(visits=2), progress=False)
    result = backend.measure(jobs, precision="fp32", on_entry=lambda key, entry: seen.append((key, entry.median_ms)))
    assert result.entries[jobs[0].key].median_ms == 1.5 and result.entries[jobs[1].key].median_ms == 1.0
    assert seen == [(jobs[0].key, 2.0), (jobs[1].key, 1.0), (jobs[0].key, 1.5)]  # only improvements are reported
    assert "2 passes" in backend.header()["visits"]


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_export_and_time_a_real_op(tmp_path: Path, precision: str) -> None:
    ops, heads = get_space("nas_bench_macro", resolution=8).ops()
    op = next(o for o in ops if o.spec.type == "ibn")
    path = export_op(op, tmp_path, precision=precision)
    if precision == "int8":
        import onnx

        ops_used = {node.op_type for node in onnx.load(str(path)).graph.node}
        assert {"QuantizeLinear", "DequantizeLinear"} <= ops_used
    entry = time_model(path, op_input_shape(op), provider="CPUExecutionProvider", options=FAST)
    assert 0 < entry.p10_ms <= entry.median_ms <= entry.p90_ms and entry.runs >= 5


class CountingBackend:
    """Deterministic backend recording what it was asked to measure."""

    name, source = "counting", "measured"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def header(self) -> dict:
        return {"runtime": "test"}

    def measure(self, jobs, *, precision, on_entry=None) -> MeasureResult:  # type: ignore[no-untyped-def]
        result = MeasureResult()
        for job in jobs:
            self.asked.append(job.key)
            entry = Entry(float(len(job.key)), 1.0, 2.0, 3)
            result.entries[job.key] = entry
            if on_entry:
                on_entry(job.key, entry)
        return result


def test_build_table_only_measures_missing_keys(tmp_path: Path) -> None:
    ops, heads = get_space("nas_bench_macro", resolution=8).ops()
    jobs = space_jobs(ops, heads, "fp32")
    backend = CountingBackend()
    table = open_table(tmp_path / "t.yaml", device=get_device("cpu"), backend=backend, precision="fp32")
    build_table(jobs[:5], table=table, backend=backend, precision="fp32", save_every=2)
    table = open_table(tmp_path / "t.yaml", device=get_device("cpu"), backend=backend, precision="fp32")
    assert len(table.entries) == 5
    _, skipped = build_table(jobs, table=table, backend=backend, precision="fp32")
    assert skipped == 5 and len(backend.asked) == len(jobs) == len(set(backend.asked))
    assert set(LatencyTable.load(tmp_path / "t.yaml").entries) == {job.key for job in jobs}


def test_remeasure_noisy_replaces_only_unsteady_entries(tmp_path: Path) -> None:
    ops, heads = get_space("nas_bench_macro", resolution=8).ops()
    jobs = space_jobs(ops, heads, "fp32")
    backend = CountingBackend()
    table = open_table(tmp_path / "t.yaml", device=get_device("cpu"), backend=backend, precision="fp32")
    build_table(jobs, table=table, backend=backend, precision="fp32")
    noisy = jobs[0].key
    table.entries[noisy] = Entry(7.25, 3.27, 7.36, 50)  # a window disturbed by another process
    backend.asked.clear()
    build_table(jobs, table=table, backend=backend, precision="fp32", remeasure_spread=0.2)
    assert backend.asked == [noisy] and table.entries[noisy].median_ms == float(len(noisy))


def test_resume_after_sigkill(tmp_path: Path) -> None:
    """A real nas-profile process killed mid-run: the file stays valid and a rerun measures only what is missing."""
    table_path = tmp_path / "cpu.yaml"
    args = ["--device", "cpu", *TINY, "--table", str(table_path), "--save-every", "1", "--no-fit"]
    process = subprocess.Popen([sys.executable, "-m", "nas.cli.profile", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    before: dict[str, Entry] = {}
    while time.monotonic() < deadline and process.poll() is None:
        if table_path.exists():
            before = LatencyTable.load(table_path).entries
            if len(before) >= 3:
                break
        time.sleep(0.05)
    assert process.poll() is None, "profiling finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    killed = LatencyTable.load(table_path)  # valid after the kill
    total = len(space_jobs(*get_space("nas_bench_macro", resolution=8).ops(), "fp32"))
    assert 3 <= len(killed.entries) < total
    done = _cli(*args)
    assert done.returncode == 0, done.stderr
    assert f"{len(killed.entries)} already in the table, {total - len(killed.entries)} new" in done.stdout
    final = LatencyTable.load(table_path)
    assert len(final.entries) == total
    assert all(final.entries[key] == entry for key, entry in killed.entries.items()), "finished entries were re-measured"


def test_cli_builds_a_table_and_lists_devices(tmp_path: Path) -> None:
    table_path = tmp_path / "int8.yaml"
    done = _cli("--device", "cpu-int8", *TINY, "--table", str(table_path), "--min-runs", "3", "--min-seconds", "0", "--no-fit")
    assert done.returncode == 0, done.stderr
    table = LatencyTable.load(table_path)
    assert table.precision == "int8" and table.source == "measured" and table.header["provider"] == "CPUExecutionProvider"
    assert table.header["threads"] == 1 and table.header["graph_optimization"] == "ORT_ENABLE_ALL"
    assert all(key.endswith("/int8") for key in table.entries) and len(table.entries) > 10
    listing = _cli("--list-devices")
    assert listing.returncode == 0
    for name in ("cpu", "cpu-int8", "gpu"):
        assert any(line.split()[0] == name for line in listing.stdout.splitlines()[1:])


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    import torch

    unknown = _cli("--device", "nope", *TINY, "--table", str(tmp_path / "x.yaml"))
    assert unknown.returncode == 2 and "unknown device 'nope'" in unknown.stderr and "cpu" in unknown.stderr
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here: --device gpu would profile")
    gpu = _cli("--device", "gpu", *TINY, "--table", str(tmp_path / "g.yaml"))
    assert gpu.returncode == 2 and "needs an NVIDIA GPU" in gpu.stderr and "nas-profile --device gpu --space SPACE" in gpu.stderr
    assert len(gpu.stderr.strip().splitlines()) == 1


def test_backend_registry_knows_ort() -> None:
    assert "ort" in BACKENDS.names()
    backend = make_backend("ort", device=get_device("cpu"), progress=False)
    assert backend.source == "measured" and backend.header()["runtime"] == "onnxruntime"
    result = backend.measure([], precision="fp32")
    assert result.entries == {}


def test_subcommands_dispatch_lazily(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from nas.cli import profile

    monkeypatch.setitem(profile.SUBCOMMANDS, "fit", "nas.cli.no_such_module_for_test")
    assert profile.main(["fit", "x.csv"]) == 2
    assert "'nas-profile fit' is not available" in capsys.readouterr().err
    calls = []
    monkeypatch.setitem(sys.modules, "fake_sub", type(sys)("fake_sub"))
    sys.modules["fake_sub"].main = lambda argv: calls.append(argv) or 0  # type: ignore[attr-defined]
    monkeypatch.setitem(profile.SUBCOMMANDS, "import", "fake_sub")
    assert profile.main(["import", "--device", "dsp", "r.csv"]) == 0 and calls == [["--device", "dsp", "r.csv"]]
