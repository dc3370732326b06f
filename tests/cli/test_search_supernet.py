"""nas-search --proxy supernet --supernet DIR: a real search in a subprocess, and one line for a mismatched file."""

from __future__ import annotations

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
