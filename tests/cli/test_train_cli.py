"""nas-train through real subprocesses: outputs, resume after SIGKILL, refusals, bad input, torchrun."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nas.arch import ArchSpec
from nas.weights import load_weights
from tests.cli._resume import kill_after_first_checkpoint, metrics_rows

ARCH = "r16_n4,conv_k3_s2_c8_relu,ibn_k3_s1_e2_c8_relu,ibn_k3_s2_e2_c16_relu,head_none"
FAST = ["--epochs", "2", "--batch", "32", "--threads", "1", "--quiet"]


def nas_train(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nas.cli.train", *args], capture_output=True, text=True, timeout=timeout)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


def test_a_short_run_writes_every_output_and_a_rerun_returns_it(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = nas_train(ARCH, "--data", "synthetic", "--out", str(out), *FAST, "--ema", "0.9")
    assert result.returncode == 0, result.stderr
    assert "test top-1" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["weights.pt", "checkpoint.pt", "metrics.jsonl", "curve.png", "arch.yaml", "result.json"]
    )
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in rows] == [1, 2]
    assert {"loss", "val_top1", "val_top5", "val_loss", "lr", "seconds", "images_per_s"} <= set(rows[0])
    summary = json.loads((out / "result.json").read_text())
    assert 0 <= summary["test_top1"] <= summary["test_top5"] <= 100
    assert summary["settings"]["epochs"] == 2 and summary["settings"]["ema"] == 0.9 and summary["weights_from"] == "ema"
    assert summary["host"]["model_name"] and summary["device"] == "cpu"
    arch = ArchSpec.from_yaml((out / "arch.yaml").read_text())
    assert arch.num_classes == 4 and arch.resolution == 16  # sized to synthetic's 4 classes and 16-px images
    stored, state, meta = load_weights(out / "weights.pt", arch=arch)
    assert stored == arch and meta["test_top1"] == summary["test_top1"] and len(meta["normalise_mean"]) == 3
    assert (out / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    before = _snapshot(out)
    again = nas_train(ARCH, "--data", "synthetic", "--out", str(out), *FAST, "--ema", "0.9", "--checkpoint-minutes", "1")
    assert again.returncode == 0, again.stderr
    assert _snapshot(out) == before  # finished: nothing retrained, nothing rewritten


@pytest.mark.slow
def test_sigkill_then_the_same_command_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    command = [ARCH, "--data", "synthetic:1200", "--epochs", "2", "--batch", "16", "--threads", "1", "--quiet", "--checkpoint-minutes", "0"]
    whole = nas_train(*command, "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr
    out = tmp_path / "killed"
    assert 0 < kill_after_first_checkpoint("nas.cli.train", command, out, final="result.json") < 2 * 67
    resumed = nas_train(*command, "--out", str(out))
    assert resumed.returncode == 0, resumed.stderr
    a, b = load_weights(tmp_path / "whole" / "weights.pt")[1], load_weights(out / "weights.pt")[1]
    assert all(torch.equal(a[k], b[k]) for k in a)
    rows = [metrics_rows(d) for d in (tmp_path / "whole", out)]
    assert rows[0] == rows[1]
    assert (
        json.loads((out / "result.json").read_text())["test_top1"]
        == json.loads((tmp_path / "whole" / "result.json").read_text())["test_top1"]
    )


def test_other_settings_on_an_existing_run_are_refused_and_nothing_changes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert nas_train(ARCH, "--data", "synthetic", "--out", str(out), "--epochs", "1", "--batch", "64", "--quiet").returncode == 0
    before = _snapshot(out)
    result = nas_train(ARCH, "--data", "synthetic", "--out", str(out), "--epochs", "1", "--batch", "64", "--quiet", "--lr", "0.05")
    assert result.returncode == 2 and "other settings (recipe.lr: 0.1 here, 0.05 asked)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and _snapshot(out) == before


BAD = [
    (["--data", "bogus:x"], "unknown kind 'bogus'"),
    (["--data", "cifar10:/no/such/folder"], "not a CIFAR-10 python folder"),
    (["--data", "synthetic", "--epochs", "0"], "--epochs 0: must be a positive integer"),
    (["--data", "synthetic", "--lr", "abc"], "argument --lr: invalid float value"),
    (["--data", "synthetic", "--ema", "1.5"], "EMA decay must be in (0, 1)"),
    (["--data", "synthetic", "--num-classes", "10"], "has 4 classes"),
    (["--data", "synthetic", "--batch", "5000"], "fewer than one step"),
    (["--data", "synthetic", "--optimizer", "lion"], "invalid choice: 'lion'"),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=[a[-1] for a, _ in BAD])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "run"
    result = nas_train(ARCH, "--out", str(out), *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_bad_architectures_and_folders_are_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "arch.yaml"
    broken.write_text("name: x\nresolution: [\n")
    file_out = tmp_path / "a-file"
    file_out.write_text("keep")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    cases = [
        ([str(broken), "--out", str(tmp_path / "o1")], str(broken)),
        ([str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "o2")], "cannot read file"),
        ([ARCH, "--out", str(file_out)], "is a file, not a folder"),
        ([ARCH, "--out", str(foreign)], "holds other files (notes.txt)"),
        (["--out", str(tmp_path / "o3")], "give a TARGET"),
    ]
    for args, message in cases:
        result = nas_train(*args, "--data", "synthetic", "--epochs", "1")
        assert result.returncode == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)
    assert file_out.read_text() == "keep" and sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]
    assert not any((tmp_path / name).exists() for name in ("o1", "o2", "o3"))


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("torchrun") is None and not hasattr(torch.distributed, "run"), reason="needs torch.distributed.run")
def test_torchrun_with_two_cpu_processes(tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "nas.cli.train"]
    result = subprocess.run(
        [*command, ARCH, "--data", "synthetic", "--out", str(out), "--epochs", "1", "--batch", "16", "--threads", "1", "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("test top-1") == 1  # rank 0 reports, rank 1 is silent
    summary = json.loads((out / "result.json").read_text())
    assert summary["processes"] == 2 and summary["global_batch"] == 32
    from nas.proxies.data import holdout, synthetic_data

    n_train = len(holdout(synthetic_data(), fraction=0.1, seed=0).train_images)
    assert json.loads((out / "metrics.jsonl").read_text().splitlines()[0])["step"] == n_train // 32  # 2 × 16 images a step
