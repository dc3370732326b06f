"""Trained export: the weights reach model.onnx, int8 is calibrated on real training images, accuracy and latency are measured.

Real onnxruntime throughout, an image folder of generated JPEGs as the data, and weights written with
``nas.weights.save_weights`` from a network trained a few SGD steps here (the ``nas-train`` contract).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from nas.api import export
from nas.arch import ArchSpec
from nas.builder import build_model
from nas.errors import NasError
from nas.exporting.deploy import ExportSettings
from nas.exporting.formats import onnx_outputs
from nas.proxies.data import ImageData, load_data
from nas.space import get_space
from nas.weights import save_weights

CLASSES, TRAIN_PER_CLASS, TEST_PER_CLASS, SIZE = 10, 4, 2, 16


def write_imagefolder(root: Path, *, seed: int = 0) -> Path:
    """``root/train/<class>/*.jpg`` and ``root/test/<class>/*.jpg``: smooth colour gradients, one hue per class, plus noise."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    ramp = np.linspace(0.0, 1.0, SIZE)[None, :, None]
    for split, count in (("train", TRAIN_PER_CLASS), ("test", TEST_PER_CLASS)):
        for label in range(CLASSES):
            folder = root / split / f"class{label:02d}"
            folder.mkdir(parents=True)
            colour = rng.uniform(40, 215, size=3)
            for i in range(count):
                image = colour * (0.6 + 0.4 * ramp) + rng.normal(0, 8, size=(SIZE, SIZE, 3))
                Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(folder / f"{i}.jpg", quality=95)
    return root


@pytest.fixture
def imagefolder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, ImageData]:
    monkeypatch.setenv("NAS_CACHE", str(tmp_path / "cache"))  # decoded arrays are cached; keep them in the test's folder
    spec = f"imagefolder:{write_imagefolder(tmp_path / 'images')}"
    return spec, load_data(spec)


def arch() -> ArchSpec:
    return get_space("nas_bench_macro", resolution=SIZE).random(0).with_name("tiny-trained")


def trained_weights(path: Path, data: ImageData, *, steps: int = 8) -> tuple[Path, torch.nn.Module]:
    """A few SGD steps on the data's training images (normalised as the export normalises them), saved as nas-weights."""
    torch.manual_seed(0)
    model = build_model(arch())
    optimiser = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for step in range(steps):
        x, y = data.batch(16, seed=step, size=SIZE)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    save_weights(path, arch=arch(), state_dict=model.state_dict(), meta={"epochs": 1, "test_top1": 12.5})
    return path, model.eval()


def test_trained_onnx_equals_the_trained_torch_model(tmp_path: Path, imagefolder: tuple[str, ImageData]) -> None:
    spec, data = imagefolder
    weights, model = trained_weights(tmp_path / "w.pt", data)
    export(weights=weights, data=spec, out=tmp_path / "out", formats="yaml,onnx", eval_images=4)
    x = data.tensors(data.val_images[:1]).numpy()
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
        untrained = build_model(arch()).eval()(torch.from_numpy(x)).numpy()
    got = onnx_outputs(tmp_path / "out" / "model.onnx", x)
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-4)
    assert not np.allclose(got, untrained, rtol=1e-2, atol=1e-3)  # the trained weights, not a fresh initialisation
    record = json.loads((tmp_path / "out" / "export.json").read_text())
    assert record["trained"] is True and record["weights"]["meta"] == {"epochs": 1, "test_top1": 12.5}
    assert ArchSpec.from_yaml((tmp_path / "out" / "arch.yaml").read_text()).to_string() == arch().to_string()


def test_int8_calibration_reads_real_training_images(
    tmp_path: Path, imagefolder: tuple[str, ImageData], monkeypatch: pytest.MonkeyPatch
) -> None:
    import nas.onnx_export

    spec, data = imagefolder
    weights, _ = trained_weights(tmp_path / "w.pt", data)
    seen: list[list[np.ndarray]] = []
    real_quantize = nas.onnx_export.quantize_int8

    def spy(fp32: Path, int8: Path, shape: tuple[int, ...], **options: object) -> Path:
        seen.append(list(options["calibration"]))  # type: ignore[call-overload]
        return real_quantize(fp32, int8, shape, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(nas.onnx_export, "quantize_int8", spy)
    export(weights=weights, data=spec, out=tmp_path / "out", calibration_method="entropy", eval_images=4)
    [inputs] = seen
    train = data.tensors(data.train_images, size=SIZE).numpy()  # the training normalisation
    assert len(inputs) == len(data.train_images) == CLASSES * TRAIN_PER_CLASS  # fewer than 256: all of them, said below
    for x in inputs:
        assert x.shape == (3, SIZE, SIZE)
        assert min(float(np.abs(train - x).max(axis=(1, 2, 3)).min()), 1.0) < 1e-6  # exactly one of the training images
    # not noise: neighbouring pixels of an image are strongly correlated (they are ~0 for Gaussian noise)
    stacked = np.stack(inputs)
    assert np.corrcoef(stacked[..., :-1].ravel(), stacked[..., 1:].ravel())[0, 1] > 0.8
    calibration = json.loads((tmp_path / "out" / "export.json").read_text())["int8_calibration"]
    assert calibration["real_images"] is True and calibration["images"] == 40 and calibration["method"] == "entropy"
    assert "only 40 images" in calibration["note"] and spec in calibration["source"]


def test_accuracy_and_latency_are_measured_and_sane(tmp_path: Path, imagefolder: tuple[str, ImageData], tiny_table: Path) -> None:
    spec, data = imagefolder
    weights, model = trained_weights(tmp_path / "w.pt", data, steps=30)
    export(weights=weights, data=spec, out=tmp_path / "out", device=str(tiny_table))
    record = json.loads((tmp_path / "out" / "export.json").read_text())
    accuracy = record["accuracy"]
    assert accuracy["images"] == CLASSES * TEST_PER_CLASS and "whole test split" in accuracy["split"]
    with torch.no_grad():  # the fp32 file's top-1 is the torch model's on the same images
        torch_top1 = 100.0 * float((model(data.tensors(data.val_images)).argmax(1).numpy() == data.val_labels).mean())
    assert accuracy["fp32_top1"] == pytest.approx(torch_top1)
    assert 0.0 <= accuracy["int8_top1"] <= 100.0 and accuracy["drop_points"] == pytest.approx(accuracy["fp32_top1"] - accuracy["int8_top1"])
    latency = record["latency"]
    for precision in ("fp32", "int8"):
        measured = latency["measured"][precision]
        assert 0.0 < measured["p10_ms"] <= measured["median_ms"] <= measured["p90_ms"] < 1000.0
        assert measured["runs"] >= 150  # 10 rounds × 20 runs, fewer only by the outlier rule
    assert latency["host"]["threads"] == 1 and "1 thread" in latency["rule"]
    predicted = latency["predicted"]
    assert predicted["precision"] == "fp32" and predicted["latency_ms"] > 0
    text = (tmp_path / "out" / "export.md").read_text()
    assert "top-1 on the whole test split" in text and "table prediction" in text and "UNTRAINED" not in text


def test_an_untrained_export_says_so_and_names_the_next_commands(tmp_path: Path) -> None:
    export(arch(), out=tmp_path / "out", formats="yaml,onnx,int8")
    record = json.loads((tmp_path / "out" / "export.json").read_text())
    assert record["trained"] is False and record["accuracy"] is None and record["latency"] is None
    assert record["int8_calibration"]["source"] == "random noise" and "calibrated on random noise" in record["untrained_note"]
    assert record["next"].startswith(f"nas-train {tmp_path / 'out' / 'arch.yaml'} --data ")
    assert "nas-export --weights" in record["next"] and "UNTRAINED" in (tmp_path / "out" / "export.md").read_text()


def test_settings_and_data_are_checked_before_any_work(tmp_path: Path, imagefolder: tuple[str, ImageData]) -> None:
    spec, data = imagefolder
    with pytest.raises(NasError, match="--calibration-method 'kl': allowed minmax, entropy, percentile"):
        ExportSettings(calibration_method="kl")
    with pytest.raises(NasError, match="10 classes, but the network has 4 outputs"):
        export(get_space("nas_bench_macro", resolution=SIZE, num_classes=4).random(0), data=spec, out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_weights_trained_on_other_data_are_refused(tmp_path: Path, imagefolder: tuple[str, ImageData]) -> None:
    """nas-train records its data's normalisation in the weights' meta; calibrating and scoring on another set is refused."""
    spec, data = imagefolder
    meta = {"normalise_mean": [0.5, 0.5, 0.5], "normalise_std": [0.25, 0.25, 0.25]}
    weights = save_weights(tmp_path / "w.pt", arch=arch(), state_dict=build_model(arch()).state_dict(), meta=meta)
    with pytest.raises(NasError, match="not the data .* was trained on"):
        export(weights=weights, data=spec, out=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    mean, std = (t.flatten().tolist() for t in data.mean_std)
    same = save_weights(
        tmp_path / "same.pt", arch=arch(), state_dict=build_model(arch()).state_dict(), meta={"normalise_mean": mean, "normalise_std": std}
    )
    export(weights=same, data=spec, out=tmp_path / "out", formats="yaml", eval_images=2)
    assert (tmp_path / "out" / "export.json").is_file()
