"""nas-search end to end in a subprocess on a measured tiny table; bad options → one line, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.study.tiny import build_tiny_table


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nas.cli.search", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_table(tmp_path_factory.mktemp("cli-table"))


def test_short_real_search_writes_every_output_and_resumes(table: Path, tmp_path: Path) -> None:
    args = ["--space", "nas_bench_macro", "--resolution", "16", "--device", str(table), "--proxy", "macs", "--out", str(tmp_path / "run")]
    first = _cli(*args, "--trials", "8")
    assert first.returncode == 0, first.stderr
    assert "chosen trial" in first.stdout and "MobileNetV2-1.0" in first.stdout
    for name in ("study.db", "trials.csv", "pareto.csv", "pareto.png", "report.md", "best/arch.yaml", "best/model.onnx"):
        assert (tmp_path / "run" / name).stat().st_size > 0, name
    report = (tmp_path / "run" / "report.md").read_text()
    assert "## Settings" in report and "Per-layer latency" in report and "measured" in report
    again = _cli(*args, "--trials", "12")
    assert again.returncode == 0, again.stderr
    assert len((tmp_path / "run" / "trials.csv").read_text().splitlines()) == 1 + 12


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--trials", "0"], "positive integer"),
        (["--sampler", "grid"], "invalid choice"),
        (["--objective", "mnas"], "needs --latency-target"),
        (["--device", "nowhere"], "unknown device 'nowhere'"),
        (["--storage", "ftp://x"], "expected a journal file"),
    ],
)
def test_invalid_options_give_one_line_and_exit_2(table: Path, tmp_path: Path, args: list[str], message: str) -> None:
    base = ["--space", "nas_bench_macro", "--resolution", "16", "--device", str(table), "--proxy", "macs", "--out", str(tmp_path / "bad")]
    run = _cli(*base, *args)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert message in run.stderr and lines[-1].startswith("nas-search: error:"), run.stderr
    assert all("Traceback" not in line for line in lines)
