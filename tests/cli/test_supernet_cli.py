"""nas-supernet train through real subprocesses: outputs, resume after SIGKILL, bad input, torchrun."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.cli._resume import kill_after_first_checkpoint, metrics_rows

COMMON = ["--space", "nas_bench_macro", "--resolution", "16", "--threads", "1", "--quiet"]


def nas_supernet(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nas.cli.supernet", *args], capture_output=True, text=True, timeout=timeout)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


def test_train_writes_a_supernet_and_names_the_search_command(tmp_path: Path) -> None:
    out = tmp_path / "sn"
    result = nas_supernet("train", *COMMON, "--data", "synthetic", "--out", str(out), "--epochs", "1", "--batch", "32")
    assert result.returncode == 0, result.stderr
    assert f"nas-search --space nas_bench_macro --resolution 16 --data synthetic --proxy supernet --supernet {out}" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "curve.png", "metrics.jsonl", "result.json", "supernet.pt"]
    assert json.loads((out / "result.json").read_text())["sampling"] == {"rule": "sandwich", "random_paths": 2}
    assert (out / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


BAD = [
    (["--space", "no_such_space"], "no_such_space"),
    (["--space", "mobilenet_v2"], "has no choices"),
    (["--space", "nas_bench_macro", "--data", "cifar10:/no/such/folder"], "/no/such/folder"),
    (["--space", "nas_bench_macro", "--data", "nothing:x"], "unknown kind 'nothing'"),
    (["--space", "nas_bench_macro", "--rule", "greedy"], "invalid choice: 'greedy'"),
    (["--space", "nas_bench_macro", "--epochs", "0"], "--epochs 0: must be a positive integer"),
    (["--space", "nas_bench_macro", "--batch", "100000"], "lower --batch"),
    (["--space", "nas_bench_macro", "--val-fraction", "1.5"], "--val-fraction 1.5: must be in (0, 1)"),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=[message for _, message in BAD])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    defaults = {"--data": "synthetic"}
    given = [*args, *(item for key, value in defaults.items() if key not in args for item in (key, value))]
    result = nas_supernet("train", *given, "--out", str(tmp_path / "out"), "--quiet")
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_an_out_folder_holding_something_else_is_refused_and_left_alone(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    result = nas_supernet("train", *COMMON, "--data", "synthetic", "--out", str(foreign))
    assert result.returncode == 2 and "holds other files (notes.txt)" in result.stderr
    assert _snapshot(foreign) == {"notes.txt": b"mine"}
    (tmp_path / "file").write_text("keep")
    result = nas_supernet("train", *COMMON, "--data", "synthetic", "--out", str(tmp_path / "file"))
    assert result.returncode == 2 and "is a file, not a folder" in result.stderr and (tmp_path / "file").read_text() == "keep"


@pytest.mark.slow
def test_sigkill_then_the_same_command_resumes_to_the_uninterrupted_supernet(tmp_path: Path) -> None:
    command = ["train", *COMMON, "--data", "synthetic:800", "--rule", "spos", "--epochs", "2", "--batch", "16", "--checkpoint-minutes", "0"]
    whole = nas_supernet(*command, "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr
    out = tmp_path / "killed"
    assert 0 < kill_after_first_checkpoint("nas.cli.supernet", command, out, final="supernet.pt") < 2 * 45
    resumed = nas_supernet(*command, "--out", str(out))
    assert resumed.returncode == 0, resumed.stderr
    a, b = (torch.load(d / "supernet.pt", weights_only=True)["state_dict"] for d in (tmp_path / "whole", out))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    rows = [metrics_rows(d) for d in (tmp_path / "whole", out)]
    assert rows[0] == rows[1] and len(rows[0]) == 2


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("torchrun") is None and not hasattr(torch.distributed, "run"), reason="needs torch.distributed.run")
def test_torchrun_with_two_cpu_processes_trains_the_sandwich_rule(tmp_path: Path) -> None:
    """Two gloo processes run the sandwich rule's several forwards per step through DDP (one forward per step).

    The comparison with one process at the doubled batch is tests/training/test_distributed.py.
    """
    out = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "nas.cli.supernet"]
    result = subprocess.run(
        [*command, "train", *COMMON, "--data", "synthetic", "--out", str(out), "--epochs", "1", "--batch", "16", "--rule", "sandwich"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("search with it") == 1  # rank 0 reports, rank 1 is silent
    summary = json.loads((out / "result.json").read_text())
    assert summary["training"]["processes"] == 2 and summary["training"]["global_batch"] == 32
    from nas.proxies.data import holdout, synthetic_data

    n_train = len(holdout(synthetic_data(), fraction=0.1, seed=0).train_images)
    assert json.loads((out / "metrics.jsonl").read_text().splitlines()[0])["step"] == n_train // 32
