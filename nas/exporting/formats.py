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
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from nas.arch import ArchSpec
from nas.errors import NasError
from nas.io import atomic_write_bytes, atomic_write_text, temp_path_beside

if TYPE_CHECKING:
    from nas.exporting.deploy import Calibration, ExportSettings, TrainedWeights
    from nas.proxies.data import ImageData

ONNX_RTOL = 1e-3
ONNX_ATOL = 1e-4


class ExportError(NasError):
    """An export whose result does not match the torch model, or that cannot be written."""


class FormatWriter(Protocol):
    """One format: write it for ``arch`` (built as ``model``) into ``out`` and return the file."""

    def __call__(self, arch: ArchSpec, model: Any, out: Path, *, calibration: Calibration | None = None) -> Path: ...


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


def export_yaml(arch: ArchSpec, model: Any, out: Path, *, calibration: Calibration | None = None) -> Path:
    path = out / "arch.yaml"
    atomic_write_text(path, arch.to_yaml())
    return path


def export_onnx(arch: ArchSpec, model: Any, out: Path, *, calibration: Calibration | None = None) -> Path:
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


def export_int8(arch: ArchSpec, model: Any, out: Path, *, calibration: Calibration | None = None) -> Path:
    """model.int8.onnx: static QDQ quantization of model.onnx (exported first when absent), calibrated on ``calibration``.

    Without ``calibration``: a few random-noise inputs, as the latency tables are priced (right for timing only).
    """
    from nas.exporting.deploy import noise_calibration
    from nas.onnx_export import quantize_int8

    calibration = calibration or noise_calibration(arch)
    fp32 = out / "model.onnx"
    if not fp32.exists():
        export_onnx(arch, model, out)
    path = out / "model.int8.onnx"
    tmp = _tmp_path(path)
    try:
        shape = (1, arch.in_channels, arch.resolution, arch.resolution)
        quantize_int8(fp32, tmp, shape, calibration=list(calibration.inputs), method=calibration.method)
        got = onnx_outputs(tmp, sample_input(arch))
        if got.shape != (1, arch.num_classes) or not np.all(np.isfinite(got)):
            raise ExportError(f"{path}: the quantized model gives shape {got.shape} or non-finite outputs")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def export_torchscript(arch: ArchSpec, model: Any, out: Path, *, calibration: Calibration | None = None) -> Path:
    import torch

    path = out / "model.torchscript.pt"
    with torch.no_grad():
        traced = torch.jit.trace(model, torch.from_numpy(sample_input(arch)))
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer)
    atomic_write_bytes(path, buffer.getvalue())
    return path


FORMATS: dict[str, FormatWriter] = {
    "yaml": export_yaml,
    "onnx": export_onnx,
    "int8": export_int8,
    "torchscript": export_torchscript,
}


WEIGHTS_FILE = "weights.pt"  # written with export_arch(weights_file=True)
FILES = {"yaml": "arch.yaml", "onnx": "model.onnx", "int8": "model.int8.onnx", "torchscript": "model.torchscript.pt"}
_log = logging.getLogger("nas.export")  # nas-export shows these as progress lines on stderr


def parse_formats(text: str | list[str] | tuple[str, ...]) -> list[str]:
    names = [part.strip() for part in (text.split(",") if isinstance(text, str) else text) if part.strip()]
    unknown = [name for name in names if name not in FORMATS]
    if unknown or not names:
        raise NasError(f"--format: unknown format {unknown[0] if unknown else text!r} (allowed: {', '.join(FORMATS)}, comma-separated)")
    return names


def export_arch(
    arch: ArchSpec,
    out: str | Path,
    *,
    formats: list[str] | tuple[str, ...] = ("yaml", "onnx"),
    weights: TrainedWeights | None = None,
    data: ImageData | None = None,
    data_spec: str | None = None,
    settings: ExportSettings | None = None,
    weights_file: bool = False,
) -> dict[str, Path]:
    """Write ``formats`` of ``arch`` into a hidden folder beside ``out``, then publish it whole as ``out``; returns format → file.

    With ``weights`` the files hold the trained network and, when ``onnx`` is written, export.json reports
    the latency of the written files on this host (and, with ``data``, their top-1 on its test split);
    with ``data`` int8 is calibrated on its training images, else on random noise. Everything that can be
    refused (weights, data, device) is checked before anything is staged. An existing ``out`` holding an
    earlier export is replaced whole (see ``nas.exporting.publish``). ``weights_file``: also write ``weights``
    into the folder as ``weights.pt`` (nas-weights format), e.g. the weights a search's best inherited from its supernet.
    """
    from nas.builder import build_model
    from nas.exporting.deploy import ExportSettings, accuracy, check_data, data_calibration, latency, load_table, noise_calibration
    from nas.exporting.publish import check_out, staged
    from nas.exporting.summary import build_record, write_summary

    out = Path(out)
    names = parse_formats(list(formats))
    check_out(out)
    settings = settings or ExportSettings()
    if data is not None:
        check_data(data, arch, data_spec or data.name)
        if weights is not None:
            weights.check_data(data, data_spec or data.name)
    if settings.device:
        load_table(settings.device)  # an unknown device or a broken table fails here, not after minutes of work
    model = None
    if set(names) - {"yaml"}:
        model = build_model(arch).eval()
        if weights is not None:
            weights.load_into(model)
    calibration = None
    if "int8" in names:
        spec = data_spec or (data.name if data is not None else "")
        calibration = data_calibration(data, arch, settings=settings, spec=spec) if data is not None else noise_calibration(arch)
    with staged(out) as stage:
        for name in names:
            _log.info("%s: writing %s of %s", out, name, arch.name)
            FORMATS[name](arch, model, stage, calibration=calibration)
        files = {name: stage / FILES[name] for name in names}
        written = {name: out / FILES[name] for name in names}
        if weights_file and weights is not None:
            from nas.weights import save_weights

            save_weights(stage / WEIGHTS_FILE, arch=weights.arch, state_dict=weights.state_dict, meta=weights.meta)
            written["weights"] = out / WEIGHTS_FILE
        measured_accuracy = measured_latency = None
        if weights is not None and "onnx" in names:
            if data is not None:
                _log.info("%s: top-1 of the written files on the test split of %s", out, data_spec or data.name)
                measured_accuracy = accuracy(files, data, arch, settings).to_dict()
            _log.info("%s: timing the written files (onnxruntime CPU, 1 thread)", out)
            measured_latency = latency(files, arch, settings).to_dict()
        record = build_record(
            arch=arch,
            out=out,
            files=written,
            weights=weights.to_dict() if weights is not None else None,
            calibration=calibration.to_dict() if calibration is not None else None,
            accuracy=measured_accuracy,
            latency=measured_latency,
            data_spec=data_spec,
        )
        extra = write_summary(stage, record)
    return {**written, **{key: out / path.name for key, path in extra.items()}}
