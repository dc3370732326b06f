"""Export one architecture: arch.yaml, model.onnx (checked against torch), model.int8.onnx, TorchScript.

ONNX uses the exporter and the QDQ quantization that priced the latency tables
(``nas.onnx_export``, shared with ``nas.latency.profile``), so the deployed graph is the one the table measured.
Every file is written to a temporary name and renamed: a killed export never
leaves a half-written model behind.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np

from nas.arch import ArchSpec
from nas.errors import NasError
from nas.io import atomic_write_bytes, atomic_write_text, temp_path_beside

ONNX_RTOL = 1e-3
ONNX_ATOL = 1e-4


class ExportError(NasError):
    """An export whose result does not match the torch model, or that cannot be written."""


def _tmp_path(target: Path) -> Path:
    """A temporary file beside ``target`` for tools that write by path; ``os.replace`` publishes it."""
    return temp_path_beside(target)


def sample_input(arch: ArchSpec, *, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((1, arch.in_channels, arch.resolution, arch.resolution)).astype(np.float32)


def onnx_outputs(path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def export_yaml(arch: ArchSpec, model: Any, out: Path) -> Path:
    path = out / "arch.yaml"
    atomic_write_text(path, arch.to_yaml())
    return path


def export_onnx(arch: ArchSpec, model: Any, out: Path) -> Path:
    """model.onnx, then onnxruntime on a random input must equal torch within rtol 1e-3, atol 1e-4."""
    import torch

    from nas.onnx_export import onnx_graph

    path = out / "model.onnx"
    tmp = _tmp_path(path)
    try:
        onnx_graph(model, (1, arch.in_channels, arch.resolution, arch.resolution), tmp)
        x = sample_input(arch)
        with torch.no_grad():
            expected = model(torch.from_numpy(x)).numpy()
        got = onnx_outputs(tmp, x)
        if got.shape != expected.shape or not np.allclose(got, expected, rtol=ONNX_RTOL, atol=ONNX_ATOL):
            diff = float(np.max(np.abs(got - expected))) if got.shape == expected.shape else float("nan")
            raise ExportError(
                f"{path}: onnxruntime output differs from torch (max abs diff {diff:.3g}, shapes {got.shape} vs {expected.shape})"
            )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def export_int8(arch: ArchSpec, model: Any, out: Path) -> Path:
    """model.int8.onnx: static QDQ quantization of model.onnx (exported first when absent)."""
    from nas.onnx_export import quantize_int8

    fp32 = out / "model.onnx"
    if not fp32.exists():
        export_onnx(arch, model, out)
    path = out / "model.int8.onnx"
    tmp = _tmp_path(path)
    try:
        quantize_int8(fp32, tmp, (1, arch.in_channels, arch.resolution, arch.resolution))
        got = onnx_outputs(tmp, sample_input(arch))
        if got.shape != (1, arch.num_classes) or not np.all(np.isfinite(got)):
            raise ExportError(f"{path}: the quantized model gives shape {got.shape} or non-finite outputs")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def export_torchscript(arch: ArchSpec, model: Any, out: Path) -> Path:
    import torch

    path = out / "model.torchscript.pt"
    with torch.no_grad():
        traced = torch.jit.trace(model, torch.from_numpy(sample_input(arch)))
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer)
    atomic_write_bytes(path, buffer.getvalue())
    return path


FORMATS: dict[str, Callable[[ArchSpec, Any, Path], Path]] = {
    "yaml": export_yaml,
    "onnx": export_onnx,
    "int8": export_int8,
    "torchscript": export_torchscript,
}


FILES = {"yaml": "arch.yaml", "onnx": "model.onnx", "int8": "model.int8.onnx", "torchscript": "model.torchscript.pt"}
_log = logging.getLogger("nas.export")  # nas-export shows these as progress lines on stderr


def parse_formats(text: str | list[str] | tuple[str, ...]) -> list[str]:
    names = [part.strip() for part in (text.split(",") if isinstance(text, str) else text) if part.strip()]
    unknown = [name for name in names if name not in FORMATS]
    if unknown or not names:
        raise NasError(f"--format: unknown format {unknown[0] if unknown else text!r} (allowed: {', '.join(FORMATS)}, comma-separated)")
    return names


def export_arch(arch: ArchSpec, out: str | Path, *, formats: list[str] | tuple[str, ...] = ("yaml", "onnx")) -> dict[str, Path]:
    """Write ``formats`` of ``arch`` into a hidden folder beside ``out``, then publish it whole as ``out``; returns format → file.

    An existing ``out`` holding an earlier export is replaced whole (see ``nas.exporting.publish``).
    """
    from nas.builder import build_model

    from nas.exporting.publish import staged

    out = Path(out)
    names = parse_formats(list(formats))
    with staged(out) as stage:
        model = build_model(arch).eval() if set(names) - {"yaml"} else None
        for name in names:
            _log.info("%s: writing %s of %s", out, name, arch.name)
            FORMATS[name](arch, model, stage)
    return {name: out / FILES[name] for name in names}
