"""The one ONNX export and int8 quantization, used by profiling (``nas.latency.profile``) and by ``nas-export``.

A latency table is priced on the graph that is deployed, so both paths must export the same
way: TorchScript exporter (opset 17, constant folding, eval mode), and onnxruntime's static
QDQ quantization (per-channel int8 weights, int8 activations) calibrated on random inputs
(``nas-export --data`` calibrates the deployed model on real images instead).
A leaf module: it imports torch and onnxruntime only, and only when called.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterable, Sequence
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


#: onnxruntime's calibration methods by the name ``--calibration-method`` takes (Distribution is for fp8, not int8).
CALIBRATION_METHODS = ("minmax", "entropy", "percentile")


def calibration_method(name: str) -> Any:
    """onnxruntime's ``CalibrationMethod`` for one of ``CALIBRATION_METHODS``."""
    from onnxruntime.quantization import CalibrationMethod

    members = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy, "percentile": CalibrationMethod.Percentile}
    if name not in members:
        raise ValueError(f"calibration method {name!r}: allowed {', '.join(CALIBRATION_METHODS)}")
    return members[name]


def quantize_int8(
    fp32_path: Path,
    int8_path: Path,
    input_shape: Sequence[int],
    *,
    calibration: int | Iterable[np.ndarray] = 8,
    method: str = "minmax",
    seed: int = 0,
) -> Path:
    """Static QDQ quantization (per-channel weights, int8 activations).

    ``calibration``: a number of random-noise inputs (what the latency tables are priced with: timing does not
    depend on the ranges), or the calibration inputs themselves, each of ``input_shape`` (real images, for a
    deployed model whose accuracy matters). ``method``: one of ``CALIBRATION_METHODS``.
    """
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if isinstance(calibration, int):
        rng = np.random.default_rng(seed)
        inputs: Iterable[np.ndarray] = [rng.standard_normal(input_shape).astype(np.float32) for _ in range(calibration)]
    else:
        inputs = calibration

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._batches = iter(inputs)

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self._batches, None)
            return None if batch is None else {INPUT_NAME: np.ascontiguousarray(batch, dtype=np.float32).reshape(input_shape)}

    prepared = Path(int8_path).with_suffix(".pre.onnx")
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
            quantize_static(
                str(prepared),
                str(int8_path),
                Reader(),
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                activation_type=QuantType.QInt8,
                weight_type=QuantType.QInt8,
                calibrate_method=calibration_method(method),
                extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
            )
    finally:
        prepared.unlink(missing_ok=True)
    return Path(int8_path)


def onnx_model(module: Any, input_shape: Sequence[int], directory: Path, *, precision: str, name: str) -> Path:
    """``directory/name.onnx``, and for ``precision="int8"`` its QDQ twin ``name.int8.onnx`` (returned)."""
    fp32 = onnx_graph(module, input_shape, Path(directory) / f"{name}.onnx")
    return quantize_int8(fp32, Path(directory) / f"{name}.int8.onnx", input_shape) if precision == "int8" else fp32


__all__ = ["CALIBRATION_METHODS", "INPUT_NAME", "OPSET", "calibration_method", "onnx_graph", "onnx_model", "quantize_int8"]
