"""Export round trip: arch.yaml → build → ONNX → onnxruntime ≈ torch; int8 QDQ; TorchScript; nas-export CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from nas.api import export
from nas.arch import ArchSpec
from nas.builder import build_model
from nas.errors import NasError
from nas.exporting.formats import onnx_outputs, sample_input
from nas.space import get_space


def test_yaml_to_onnx_matches_torch(tmp_path: Path) -> None:
    arch = get_space("mobiledet", resolution=32).random(7)
    files = export(arch, out=tmp_path, formats="yaml,onnx")
    assert [p.name for p in files] == ["arch.yaml", "model.onnx", "export.json", "export.md"]
    reloaded = ArchSpec.from_yaml((tmp_path / "arch.yaml").read_text())
    assert reloaded == arch
    x = sample_input(arch, seed=1)
    got = onnx_outputs(tmp_path / "model.onnx", x)
    assert got.shape == (1, arch.num_classes) and np.isfinite(got).all()
    graph = onnx.load(str(tmp_path / "model.onnx")).graph
    weights = {init.name: onnx.numpy_helper.to_array(init) for init in graph.initializer}
    classifier = next(w for name, w in weights.items() if w.shape == (arch.num_classes, arch.feature_channels))
    assert classifier.std() > 0  # real weights, not an empty graph


def test_onnx_equals_the_torch_model_it_came_from(tmp_path: Path) -> None:
    from nas.exporting.formats import export_onnx

    arch = get_space("proxylessnas", resolution=32).random(2)
    model = build_model(arch).eval()
    path = export_onnx(arch, model, tmp_path)
    x = sample_input(arch, seed=5)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(onnx_outputs(path, x), expected, rtol=1e-3, atol=1e-4)


def test_int8_is_qdq_and_torchscript_matches(tmp_path: Path) -> None:
    arch = get_space("mobilenet_v2", width=0.35, resolution=32).arch()
    files = {p.name: p for p in export(arch, out=tmp_path, formats=["int8", "torchscript"])}
    nodes = {node.op_type for node in onnx.load(str(files["model.int8.onnx"])).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= nodes
    scripted = torch.jit.load(str(files["model.torchscript.pt"]))
    x = torch.from_numpy(sample_input(arch))
    assert scripted(x).shape == (1, arch.num_classes)


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NasError, match="unknown format 'tflite'"):
        export("mobilenet_v2", out=tmp_path, formats="yaml,tflite")


def test_export_cli_from_a_study(tiny_table: Path, tmp_path: Path) -> None:
    from nas.api import search

    result = search(
        space="nas_bench_macro", resolution=16, proxy="macs", device=str(tiny_table), trials=6, out=tmp_path / "run", progress=False
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "nas.cli.export",
            "--storage",
            result.storage,
            "--trial",
            "pareto",
            "--format",
            "yaml",
            "--out",
            str(tmp_path / "front"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    pattern = "trial-*/arch.yaml" if len(result.front) > 1 else "arch.yaml"
    assert len(list((tmp_path / "front").glob(pattern))) == (len(result.front) if len(result.front) > 1 else 1)
    best = subprocess.run(
        [sys.executable, "-m", "nas.cli.export", "--storage", result.storage, "--out", str(tmp_path / "best"), "--format", "yaml"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert best.returncode == 0, best.stderr
    assert ArchSpec.from_yaml((tmp_path / "best" / "arch.yaml").read_text()).to_string() == result.best.arch
    bad = subprocess.run(
        [sys.executable, "-m", "nas.cli.export", "--storage", result.storage, "--trial", "999", "--out", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "no trial 999" in bad.stderr
