"""nas.train: the public call, its architecture sources (string, ArchSpec, study trial) and its refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

import nas
from nas.arch import ArchSpec
from nas.errors import NasError
from nas.proxies.data import synthetic_data
from nas.training import TrainingError
from nas.weights import load_weights

ARCH = "r32_n10,conv_k3_s2_c8_relu,ibn_k3_s1_e2_c8_relu,ibn_k3_s2_e2_c16_relu,head_none"


def test_nas_train_sizes_the_network_to_the_data_and_trains_at_the_asked_resolution(tmp_path: Path) -> None:
    data = synthetic_data(n_train=128, n_val=32, num_classes=3, size=16)
    result = nas.train(ArchSpec.from_string(ARCH), data=data, out=tmp_path, epochs=1, batch_size=16, resolution=24, progress=False)
    assert isinstance(result, nas.training.TrainResult) and "train" in nas.__all__
    arch, _, meta = load_weights(result.weights)
    assert (arch.num_classes, arch.resolution) == (3, 24)
    assert result.summary["settings"]["resolution"] == 24 and meta["classes"] == ["class0", "class1", "class2"]
    assert len(result.history) == 1 and result.history[0]["step"] == len(data.train_images) * 9 // 10 // 16


def test_unknown_settings_and_conflicting_sources_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="unknown training setting.*epoch_count"):
        nas.train(ARCH, data="synthetic", out=tmp_path / "a", epoch_count=3)
    with pytest.raises(NasError, match="either TARGET or --storage"):
        nas.train(ARCH, data="synthetic", out=tmp_path / "b", storage="sqlite:///x.db")
    with pytest.raises(NasError, match="--width applies to spaces"):
        nas.train(ARCH, data="synthetic", out=tmp_path / "c", width=0.5)
    assert not any((tmp_path / name).exists() for name in "abc")


@pytest.mark.slow
def test_a_study_trial_trains_as_nas_export_would_export_it(tiny_table: Path, tmp_path: Path) -> None:
    searched = nas.search(
        space="nas_bench_macro", resolution=16, proxy="macs", device=str(tiny_table), trials=4, out=tmp_path / "run", progress=False
    )
    data = synthetic_data(n_train=96, n_val=32, size=16)
    result = nas.train(storage=searched.storage, trial="best", data=data, out=tmp_path / "train", epochs=1, batch_size=32, progress=False)
    exported = ArchSpec.from_yaml((tmp_path / "run" / "best" / "arch.yaml").read_text())
    trained = ArchSpec.from_yaml((tmp_path / "train" / "arch.yaml").read_text())
    assert trained.blocks == exported.blocks and trained.stem == exported.stem and "trial" in trained.name
    assert result.summary["name"] == trained.name
    if len(searched.front) > 1:
        with pytest.raises(NasError, match="trains one network"):
            nas.train(storage=searched.storage, trial="pareto", data=data, out=tmp_path / "t2", epochs=1, progress=False)
