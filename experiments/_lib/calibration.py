"""Research calibration (moved out of ``nas``): fit the analytic device models to published end-to-end latencies; leave-one-out error per network.

Each modelled device names the published rows it is calibrated on (one chip, one
runtime, one precision) and the device constants that are not fitted (vector
width, where weights live). The fitted parameters are a MAP estimate: relative
(log) error on the reference networks plus a weak log-normal prior that keeps
parameters the reference set cannot identify near their stated priors. The result
goes into the table header, so a table says how well its model predicted the
networks it was not fitted on.
"""

from __future__ import annotations

import csv
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from experiments._lib.data import DATA_DIR
from experiments._lib.reference_networks import reference_prims
from nas.errors import NasError
from nas.latency.backends.analytic import DeviceModel, Prim

PUBLISHED_CSV = DATA_DIR / "published_latency" / "published_latency.csv"
PRIOR_WEIGHT = 0.05  # weight of the log-prior residuals, relative to one network's log error

Row = dict[str, str]


@dataclass(frozen=True)
class CalibrationSpec:
    """Which published rows calibrate a device, how their model names map to reference networks, and the priors."""

    device: str
    description: str
    select: Callable[[Row], bool]
    networks: dict[str, str]  # published model name → reference network
    model: DeviceModel  # constants + prior parameter values
    fitted: tuple[str, ...]  # parameters fitted; the others stay at their prior
    runtime: str
    source_note: str


_HTP_PRIOR = {  # Hexagon HTP (v73/v75), int8: orders of magnitude from the vendor specs, refined by the fit
    "peak_gmacs": 8000.0,
    "eff_depthwise": 0.05,
    "eff_pointwise": 1.0,
    "kernel_penalty": 1.0,
    "bandwidth_gbs": 40.0,
    "op_overhead_us": 3.0,
    "inference_overhead_us": 30.0,
}
_AI_HUB_NETWORKS = {
    "mobilenet_v2": "mobilenet_v2",
    "resnet18": "resnet18",
    "resnet50": "resnet50",
    "resnet101": "resnet101",
    "squeezenet1_1": "squeezenet1_1",
    "googlenet": "googlenet",
    "resnext50": "resnext50_32x4d",
    "resnext101": "resnext101_32x8d",
    "wideresnet50": "wide_resnet50_2",
    "densenet121": "densenet121",
    "shufflenet_v2": "shufflenet_v2_x0_5",
    "regnet": "regnet_x_3_2gf",
}
_HTP_FITTED = ("peak_gmacs", "eff_depthwise", "eff_pointwise", "bandwidth_gbs", "op_overhead_us", "inference_overhead_us")


def _ai_hub(chip: str) -> Callable[[Row], bool]:
    return lambda r: r["target"] == "dsp" and chip in r["chipset"] and r["runtime"].startswith("tflite") and r["precision"] == "w8a8"


CALIBRATIONS: dict[str, CalibrationSpec] = {
    "dsp": CalibrationSpec(
        device="dsp",
        description="Snapdragon 8 Gen 3 (SM8650) Hexagon HTP v75, w8a8 int8, TFLite + QNN delegate",
        select=_ai_hub("sm8650"),
        networks=_AI_HUB_NETWORKS,
        model=DeviceModel(name="dsp", vector_width=32, weights_on_chip=False, params=_HTP_PRIOR),
        fitted=_HTP_FITTED,
        runtime="TFLite 2.17 + QNN delegate (QAIRT 2.42), as profiled by Qualcomm AI Hub",
        source_note="Qualcomm AI Hub perf.yaml (quic/ai-hub-models v0.46.1), Samsung Galaxy S24, every layer on the NPU",
    ),
    "dsp-sm8550": CalibrationSpec(
        device="dsp-sm8550",
        description="Snapdragon 8 Gen 2 class (SM8550 / QCS8550) Hexagon HTP v73, w8a8 int8, TFLite + QNN delegate",
        select=_ai_hub("qcs8550-proxy"),
        networks=_AI_HUB_NETWORKS,
        model=DeviceModel(name="dsp-sm8550", vector_width=32, weights_on_chip=False, params=_HTP_PRIOR),
        fitted=_HTP_FITTED,
        runtime="TFLite 2.17 + QNN delegate (QAIRT 2.42), as profiled by Qualcomm AI Hub",
        source_note=(
            "Qualcomm AI Hub perf.yaml (quic/ai-hub-models v0.46.1), 'QCS8550 (Proxy)' (the SM8550 silicon; the Galaxy S23 "
            "w8a8 TFLite rows lack MobileNetV2 and ResNet-18), every layer on the NPU"
        ),
    ),
    "edgetpu": CalibrationSpec(
        device="edgetpu",
        description="Coral USB Accelerator (Edge TPU) on USB 3.0, int8, TFLite + libedgetpu",
        select=lambda r: (
            r["target"] == "edgetpu"
            and r["device"].startswith("Coral USB Accelerator (USB 3.0) on desktop CPU host")
            and "benchmarks" in r["source"]
        ),
        networks={
            "MobileNet v1": "mobilenet_v1",
            "MobileNet v2": "mobilenet_v2",
            "Inception v1": "googlenet",
            "SqueezeNet": "squeezenet1_1",
            "DenseNet": "densenet121",
            "ResNet-50 V1": "resnet50",
            "ResNet-152 V2": "resnet152",
            "VGG16": "vgg16",
            "VGG19": "vgg19",
        },
        model=DeviceModel(
            name="edgetpu",
            vector_width=8,
            weights_on_chip=True,
            onchip_weight_bytes=8_000_000,  # "about 8 MB" of on-chip parameter memory (coral.ai)
            params={
                "peak_gmacs": 2000.0,  # 4 TOPS int8 (coral.ai)
                "eff_depthwise": 0.1,
                "eff_pointwise": 1.0,
                "kernel_penalty": 1.0,
                "bandwidth_gbs": 10.0,
                "op_overhead_us": 10.0,
                "inference_overhead_us": 500.0,
                "stream_mbs": 350.0,  # USB 3.0 payload rate
            },
        ),
        fitted=("peak_gmacs", "eff_depthwise", "bandwidth_gbs", "op_overhead_us", "inference_overhead_us", "stream_mbs"),
        runtime="TFLite + libedgetpu (Edge TPU compiler), C++ benchmark",
        source_note="coral.ai/docs/edgetpu/benchmarks Table 1, USB Accelerator on USB 3.0, desktop host",
    ),
}


@dataclass(frozen=True)
class Reference:
    network: str
    published_model: str
    resolution: int
    published_ms: float
    prims: tuple[Prim, ...] = field(repr=False)

    @property
    def gmacs(self) -> float:
        return sum(p.macs for p in self.prims) / 1e9


@dataclass
class CalibrationResult:
    spec: CalibrationSpec
    params: dict[str, float]
    rows: list[dict[str, Any]]  # network, published_ms, fitted_ms, loo_ms, fit_error_pct, loo_error_pct, gmacs

    @property
    def model(self) -> DeviceModel:
        return self.spec.model.with_params(self.params)

    @property
    def median_loo_pct(self) -> float:
        return statistics.median(abs(r["loo_error_pct"]) for r in self.rows)

    @property
    def median_fit_pct(self) -> float:
        return statistics.median(abs(r["fit_error_pct"]) for r in self.rows)

    def header(self) -> dict[str, Any]:
        """Provenance for a modelled table: model constants, fitted parameters, fit and leave-one-out per network."""
        model = self.spec.model
        return {
            "runtime": self.spec.runtime,
            "backend": "analytic",
            "model": {
                "kind": "analytic int8 roofline (nas.latency.backends.analytic)",
                "vector_width": model.vector_width,
                "roofline": model.roofline,
                "weights_on_chip": model.weights_on_chip,
                "onchip_weight_bytes": model.onchip_weight_bytes,
                "params": {k: round(v, 6) for k, v in self.params.items()},
                "fitted": list(self.spec.fitted),
                "fixed_at_prior": [k for k in self.params if k not in self.spec.fitted],
            },
            "calibration": {
                "data": self.spec.source_note,
                "networks": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()} for row in self.rows],
            },
            "fidelity": {
                "leave_one_out": {
                    "median_loo_error_pct": round(self.median_loo_pct, 2),
                    "median_fit_error_pct": round(self.median_fit_pct, 2),
                    "networks": len(self.rows),
                }
            },
            "correction": {"scale": 1.0, "per_layer_ms": 0.0, "offset_ms": round(self.params["inference_overhead_us"] / 1e3, 6)},
            "notes": (
                "MODELLED, not measured: per-op latencies from an analytic int8 cost model fitted to published whole-network "
                f"latencies ({self.spec.source_note}). The per-inference overhead is the header correction's offset_ms"
                + (
                    ", and weights beyond the on-chip cache (streamed over USB) are not in per-op entries"
                    if model.onchip_weight_bytes
                    else ""
                )
                + f". Replace with measured entries: `nas-profile --device {self.spec.device} --backend bundle --out bundle/ --space SPACE`, run "
                "bundle/run_bundle.py on the device, then `nas-profile import --device "
                f"{self.spec.device} results.csv --table NEW.yaml`; or on the device itself `nas-profile --device {self.spec.device} --backend ort "
                "--provider QNNExecutionProvider --space SPACE --table NEW.yaml`."
            ),
        }


def load_published(path: Path = PUBLISHED_CSV) -> list[Row]:
    if not path.exists():
        raise NasError(f"{path}: published latency data not found (expected the shared data folder beside the repository)")
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def references(spec: CalibrationSpec, rows: Sequence[Row]) -> list[Reference]:
    """The reference networks of ``spec`` with their published latency (duplicates: the median)."""
    found: dict[str, list[tuple[int, float]]] = {}
    for row in rows:
        if spec.select(row) and row["model"] in spec.networks:
            resolution = int(row["input_size"].split("x")[0])
            found.setdefault(row["model"], []).append((resolution, float(row["latency_ms"])))
    refs = []
    for model_name, network in spec.networks.items():
        if model_name not in found:
            raise NasError(f"{spec.device}: no published row for {model_name!r} in {PUBLISHED_CSV.name}")
        resolution = found[model_name][0][0]
        latency = statistics.median(ms for _, ms in found[model_name])
        refs.append(Reference(network, model_name, resolution, latency, tuple(reference_prims(network, resolution))))
    return refs


def fit_params(spec: CalibrationSpec, refs: Sequence[Reference]) -> dict[str, float]:
    """MAP fit in log-parameter space: log latency ratios + weak log-normal prior; several starts."""
    from scipy.optimize import least_squares

    prior = spec.model.params
    names = spec.fitted
    x0 = np.log([prior[n] for n in names])

    def residuals(x: np.ndarray) -> np.ndarray:
        model = spec.model.with_params(dict(zip(names, np.exp(x))))
        errors = [math.log(model.network_ms(ref.prims) / ref.published_ms) for ref in refs]
        return np.concatenate([errors, math.sqrt(PRIOR_WEIGHT) * (x - x0)])

    best = None
    for shift in (0.0, -1.0, 1.0):
        result = least_squares(residuals, x0 + shift, bounds=(x0 - 6, x0 + 6), method="trf", max_nfev=4000)
        if best is None or result.cost < best.cost:
            best = result
    return {**prior, **dict(zip(names, (float(v) for v in np.exp(best.x))))}


def calibrate(device: str, rows: Sequence[Row] | None = None) -> CalibrationResult:
    """Fit on all reference networks, then once per network with that network left out."""
    if device not in CALIBRATIONS:
        raise NasError(f"no analytic calibration for device {device!r} (calibrated: {', '.join(CALIBRATIONS)})")
    spec = CALIBRATIONS[device]
    refs = references(spec, load_published() if rows is None else rows)
    params = fit_params(spec, refs)
    model = spec.model.with_params(params)
    table = []
    for i, ref in enumerate(refs):
        loo = spec.model.with_params(fit_params(spec, refs[:i] + refs[i + 1 :]))
        fitted_ms, loo_ms = model.network_ms(ref.prims), loo.network_ms(ref.prims)
        table.append(
            {
                "network": ref.network,
                "published_model": ref.published_model,
                "resolution": ref.resolution,
                "gmacs": round(ref.gmacs, 3),
                "published_ms": ref.published_ms,
                "fitted_ms": fitted_ms,
                "loo_ms": loo_ms,
                "fit_error_pct": 100 * (fitted_ms / ref.published_ms - 1),
                "loo_error_pct": 100 * (loo_ms / ref.published_ms - 1),
            }
        )
    return CalibrationResult(spec=spec, params=params, rows=table)


WIDTHS = (0.35, 0.5, 0.75, 1.0)  # MobileNet width multipliers priced in the shipped modelled tables


def modelled_table(result: CalibrationResult, spaces: Sequence[tuple[str, float | None]], *, path: Path | None = None) -> Any:
    """A ``source: modelled`` table with an entry for every op of every (space, width) at its default resolution."""
    from nas.latency.backends.analytic import job_prims
    from nas.latency.devices import get_device
    from nas.latency.profile import space_jobs
    from nas.latency.table import Entry, LatencyTable, new_header
    from nas.space import get_space

    device = get_device(result.spec.device)
    header = new_header(device=device.name, description=device.description, source="modelled", precision="int8", **result.header())
    header["spaces"] = []
    table = LatencyTable(header=header, path=path or device.table_path())
    model = result.model
    for name, width in spaces:
        space = get_space(name, width=width)
        ops, heads = space.ops()
        for job in space_jobs(ops, heads, "int8"):
            ms = model.prims_ms(job_prims(job.op))
            table.entries[job.key] = Entry(ms, ms, ms, 0)  # runs = 0: modelled, never measured
        header["spaces"].append(f"{space.name}@{space.resolution}" + (f"-a{width:g}" if width is not None else ""))
    return table
