"""The one ONNX export and int8 quantization, used by profiling (``nas.latency.profile``) and by ``nas-export``.

A latency table is priced on the graph that is deployed, so both paths must export the same
way: TorchScript exporter (opset 17, constant folding, eval mode), and onnxruntime's static
QDQ quantization (per-channel int8 weights, int8 activations) calibrated on random inputs.
A leaf module: it imports torch and onnxruntime only, and only when called.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

OPSET = 17
INPUT_NAME = "x"


def onnx_graph(module: Any, input_shape: Sequence[int], path: Path) -> Path:
    """``module`` as ONNX at ``path``. TorchScript exporter (``dynamo=False``): fast, no extra dependencies, stable on torch 2.x."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), torch.no_grad(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (torch.zeros(*input_shape),),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=[INPUT_NAME],
            output_names=["y"],
            do_constant_folding=True,
        )
    return path


def quantize_int8(fp32_path: Path, int8_path: Path, input_shape: Sequence[int], *, calibration: int = 8, seed: int = 0) -> Path:
    """Static QDQ quantization (per-channel weights, int8 activations) calibrated on random inputs."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class RandomReader(CalibrationDataReader):
        def __init__(self) -> None:
            rng = np.random.default_rng(seed)
            self._batches = iter([{INPUT_NAME: rng.standard_normal(input_shape).astype(np.float32)} for _ in range(calibration)])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._batches, None)

    prepared = Path(int8_path).with_suffix(".pre.onnx")
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(int8_path),
            RandomReader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
            extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
        )
    prepared.unlink(missing_ok=True)
    return Path(int8_path)


def onnx_model(module: Any, input_shape: Sequence[int], directory: Path, *, precision: str, name: str) -> Path:
    """``directory/name.onnx``, and for ``precision="int8"`` its QDQ twin ``name.int8.onnx`` (returned)."""
    fp32 = onnx_graph(module, input_shape, Path(directory) / f"{name}.onnx")
    return quantize_int8(fp32, Path(directory) / f"{name}.int8.onnx", input_shape) if precision == "int8" else fp32


__all__ = ["INPUT_NAME", "OPSET", "onnx_graph", "onnx_model", "quantize_int8"]
