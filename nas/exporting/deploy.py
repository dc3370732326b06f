"""What a deployed model costs: int8 calibration on real images, test-split top-1 of both files, and latency here.

``nas-export --weights CKPT --data D`` quantizes with images from the *training* split of ``D``
(normalised exactly as training normalises them: ``ImageData.tensors``), then runs the written
``model.onnx`` and ``model.int8.onnx`` themselves, not the torch module, on the *test* split
(``data.val_*``), and times both end to end with the timing rule of the latency tables
(onnxruntime CPU, 1 thread, sequential, round-robin; ``nas.latency.timing``'s outlier rule).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nas.arch import ArchSpec
from nas.errors import NasError
from nas.onnx_export import CALIBRATION_METHODS

if TYPE_CHECKING:
    from nas.latency.table import LatencyTable
    from nas.proxies.data import ImageData

#: Chosen by experiments/int8_calibration.py: the smallest mean int8 top-1 drop at 256 images on CIFAR-10 for two briefly
#: trained networks (within noise of MinMax; Entropy gave MinMax's ranges there). See experiments/results/int8_calibration.md.
DEFAULT_METHOD = "percentile"
DEFAULT_CALIBRATION_IMAGES = 256
NOISE_CALIBRATION_IMAGES = 8  # an untrained model: as the latency tables are priced


@dataclass(frozen=True, kw_only=True)
class ExportSettings:
    """How a trained export is calibrated and measured (``nas-export --calibration-images`` …)."""

    calibration_images: int = DEFAULT_CALIBRATION_IMAGES
    calibration_method: str = DEFAULT_METHOD
    eval_images: int | None = None  # None: the whole test split
    device: str | None = None  # a registered device or a latency table YAML, for its prediction beside the measurement
    latency_rounds: int = 10
    runs_per_round: int = 20
    seed: int = 0

    def __post_init__(self) -> None:
        if self.calibration_method not in CALIBRATION_METHODS:
            raise NasError(f"--calibration-method {self.calibration_method!r}: allowed {', '.join(CALIBRATION_METHODS)}")
        for flag, value in (
            ("--calibration-images", self.calibration_images),
            ("latency_rounds", self.latency_rounds),
            ("runs_per_round", self.runs_per_round),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise NasError(f"{flag} {value!r}: expected a positive integer")
        if self.eval_images is not None and (isinstance(self.eval_images, bool) or self.eval_images < 1):
            raise NasError(f"--eval-images {self.eval_images!r}: expected a positive integer")


@dataclass(frozen=True)
class TrainedWeights:
    """A weights file read with ``nas.weights.load_weights``: the stored architecture is the one exported."""

    path: Path
    arch: ArchSpec
    state_dict: dict[str, Any]
    meta: dict[str, Any]

    @classmethod
    def read(cls, path: str | Path, *, arch: ArchSpec | None = None) -> TrainedWeights:
        """Read and check ``path`` (missing, truncated, another architecture: ``WeightsError``, one line)."""
        from nas.weights import load_weights

        stored, state, meta = load_weights(path, arch=arch)
        return cls(Path(path), stored, state, meta)

    def load_into(self, model: Any) -> None:
        from nas.weights import WeightsError

        try:
            model.load_state_dict(self.state_dict, strict=True)
        except RuntimeError as error:  # keys or shapes that do not fit the stored architecture's network
            raise WeightsError(f"--weights {self.path}: does not fit its own architecture ({str(error).splitlines()[0][:160]})") from None

    def check_data(self, data: ImageData, spec: str) -> None:
        """Weights trained by nas-train record the normalisation of their data: another data set is refused."""
        mean, std = self.meta.get("normalise_mean"), self.meta.get("normalise_std")
        if not (isinstance(mean, list) and isinstance(std, list) and len(mean) == len(std) == 3):
            return  # weights from elsewhere: nothing to compare
        here_mean, here_std = (t.flatten().tolist() for t in data.mean_std)
        if not np.allclose(mean, here_mean, atol=2e-3) or not np.allclose(std, here_std, atol=2e-3):
            raise NasError(
                f"--data {spec}: not the data {self.path} was trained on (its images' mean/std "
                f"{np.round(here_mean, 3).tolist()}/{np.round(here_std, 3).tolist()} differ from the training's "
                f"{np.round(mean, 3).tolist()}/{np.round(std, 3).tolist()}); pass the training data"
            )

    def to_dict(self) -> dict[str, Any]:
        plain = {k: v for k, v in self.meta.items() if isinstance(v, (str, int, float, bool)) or v is None}
        shown = ", ".join(f"{k} {plain[k]}" for k in ("epochs", "test_top1", "val_top1", "seed") if k in plain)
        return {"path": str(self.path), "meta": plain, "summary": shown}


@dataclass(frozen=True)
class Calibration:
    """The inputs int8 ranges are calibrated on, and what they are (for export.json and the summary)."""

    inputs: np.ndarray  # float32 (N, C, H, W)
    method: str
    source: str  # "random noise" or "training split of D"
    note: str = ""  # e.g. the data set has fewer images than asked for

    @property
    def real(self) -> bool:
        return self.source != "random noise"

    def to_dict(self) -> dict[str, Any]:
        return {"images": int(len(self.inputs)), "method": self.method, "source": self.source, "real_images": self.real, "note": self.note}


def noise_calibration(arch: ArchSpec, *, method: str = "minmax", seed: int = 0) -> Calibration:
    rng = np.random.default_rng(seed)
    shape = (NOISE_CALIBRATION_IMAGES, arch.in_channels, arch.resolution, arch.resolution)
    return Calibration(rng.standard_normal(shape).astype(np.float32), method, "random noise")


def data_calibration(data: ImageData, arch: ArchSpec, *, settings: ExportSettings, spec: str) -> Calibration:
    """``settings.calibration_images`` seeded training images (all of them when the split has fewer), as training feeds them."""
    available = len(data.train_images)
    note = ""
    if available < settings.calibration_images:
        note = f"the training split of {spec} has only {available} images, fewer than --calibration-images {settings.calibration_images}: all used"
    images, _ = data.batch(settings.calibration_images, seed=settings.seed, size=arch.resolution)
    return Calibration(images.numpy().astype(np.float32), settings.calibration_method, f"training split of {spec}", note)


def check_data(data: ImageData, arch: ArchSpec, spec: str) -> None:
    """The classifier must match the data set's classes and the image channels the stem."""
    if data.num_classes != arch.num_classes:
        raise NasError(
            f"--data {spec}: {data.num_classes} classes, but the network has {arch.num_classes} outputs "
            "(train it on this data: nas-train ARCH --data D --out DIR, then --weights DIR/weights.pt)"
        )
    if arch.in_channels != 3:
        raise NasError(f"--data {spec}: RGB images, but the network takes {arch.in_channels} input channels")


def eval_subset(data: ImageData, count: int | None, *, seed: int = 0) -> tuple[np.ndarray, str]:
    """Indices of the test split to evaluate on, and how to say which: the whole split or a seeded subset."""
    total = len(data.val_images)
    if count is None or count >= total:
        return np.arange(total), f"the whole test split ({total} images)"
    index = np.sort(np.random.default_rng(seed).choice(total, size=count, replace=False))
    return index, f"a seeded subset of {count} of the {total} test images (--eval-images {count}, seed {seed})"


def onnx_top1(path: Path, data: ImageData, index: np.ndarray, *, size: int, chunk: int = 500) -> float:
    """Top-1 (%) of an ONNX file on test images ``index``, fed one at a time (the file's batch is 1)."""
    from nas.latency.profile import make_session

    session = make_session(path, provider="CPUExecutionProvider", threads=1)
    name = session.get_inputs()[0].name
    correct = 0
    for first in range(0, len(index), chunk):
        part = index[first : first + chunk]
        x = data.tensors(data.val_images[part], size=size).numpy()
        for image, label in zip(x, data.val_labels[part]):
            logits = session.run(None, {name: image[None]})[0]
            correct += int(np.argmax(logits) == label)
    return 100.0 * correct / max(1, len(index))


@dataclass(frozen=True)
class Accuracy:
    fp32_top1: float
    int8_top1: float | None
    images: int
    split: str

    def to_dict(self) -> dict[str, Any]:
        drop = None if self.int8_top1 is None else self.fp32_top1 - self.int8_top1
        return {"fp32_top1": self.fp32_top1, "int8_top1": self.int8_top1, "drop_points": drop, "images": self.images, "split": self.split}


def accuracy(files: dict[str, Path], data: ImageData, arch: ArchSpec, settings: ExportSettings) -> Accuracy:
    index, split = eval_subset(data, settings.eval_images, seed=settings.seed)
    fp32 = onnx_top1(files["onnx"], data, index, size=arch.resolution)
    int8 = onnx_top1(files["int8"], data, index, size=arch.resolution) if "int8" in files else None
    return Accuracy(fp32, int8, int(len(index)), split)


@dataclass(frozen=True)
class Latency:
    """End-to-end latency of the written files on this host, and the table's prediction for the target device."""

    measured: dict[str, dict[str, float]]  # "fp32" / "int8" → Measured.to_dict()
    host: dict[str, Any]
    rule: str
    predicted: dict[str, Any] = field(default_factory=dict)  # device, precision, latency_ms, source (or why not priced)

    def to_dict(self) -> dict[str, Any]:
        return {"measured": self.measured, "host": self.host, "rule": self.rule, "predicted": self.predicted}


def latency(files: dict[str, Path], arch: ArchSpec, settings: ExportSettings) -> Latency:
    """fp32 and int8 timed round-robin (a noisy spell of the shared machine hits both alike)."""
    from nas.latency.host import fingerprint
    from nas.latency.profile import TimingOptions, time_models_interleaved
    from nas.latency.timing import Measured

    options = TimingOptions(threads=1)
    shape = (1, arch.in_channels, arch.resolution, arch.resolution)
    named = [(precision, files[name]) for precision, name in (("fp32", "onnx"), ("int8", "int8")) if name in files]
    results = time_models_interleaved(
        [(path, shape) for _, path in named],
        provider="CPUExecutionProvider",
        options=options,
        rounds=settings.latency_rounds,
        runs_per_round=settings.runs_per_round,
    )
    measured = {precision: Measured.of(entry, medians).to_dict() for (precision, _), (entry, medians) in zip(named, results)}
    rule = (
        f"onnxruntime CPUExecutionProvider, 1 thread, sequential, {options.warmup} warm-up runs, "
        f"{settings.latency_rounds} interleaved rounds x {settings.runs_per_round} runs; {options.header()['statistic']}"
    )
    predicted = prediction(settings.device, arch) if settings.device else {}
    return Latency(measured, fingerprint(threads=1), rule, predicted)


def load_table(device: str) -> LatencyTable:
    """A registered device's table, or a table YAML (``--device`` as ``nas-search`` takes it)."""
    from nas.latency.devices import get_device
    from nas.latency.table import LatencyTable

    if device.endswith((".yaml", ".yml")):
        return LatencyTable.load(device)
    return get_device(device).load_table()


def prediction(device: str, arch: ArchSpec) -> dict[str, Any]:
    """The table's latency for ``arch``; a table that cannot price it says why instead."""
    table = load_table(device)
    base = {"device": device, "precision": table.precision, "table": str(table.path), "source": table.source}
    try:
        return {**base, "latency_ms": table.predict(arch).latency_ms}
    except NasError as error:
        return {**base, "latency_ms": None, "why_not": str(error)[:300]}


__all__ = [
    "DEFAULT_CALIBRATION_IMAGES",
    "DEFAULT_METHOD",
    "Accuracy",
    "Calibration",
    "ExportSettings",
    "Latency",
    "TrainedWeights",
    "accuracy",
    "check_data",
    "data_calibration",
    "latency",
    "load_table",
    "noise_calibration",
    "prediction",
]
