"""``nas.train_supernet``: the sampling rules trained by ``nas.training``'s loop, into a supernet.pt the proxy reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import nas
from nas.proxies import get_proxy
from nas.proxies.data import synthetic_data
from nas.space import get_space
from nas.supernet.checkpoint import load_supernet
from nas.training.recipe import TrainingError

FAST = {"epochs": 1, "batch_size": 32, "threads": 1, "resolution": 16, "progress": False}


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("rule", ["spos", "sandwich"])
def test_a_short_run_writes_a_supernet_the_proxy_scores_with(tmp_path: Path, rule: str) -> None:
    data = synthetic_data()
    result = nas.train_supernet("nas_bench_macro", data=data, out=tmp_path / "sn", rule=rule, random_paths=1, **FAST)
    assert sorted(p.name for p in (tmp_path / "sn").iterdir()) == [
        "checkpoint.pt",
        "curve.png",
        "metrics.jsonl",
        "result.json",
        "supernet.pt",
    ]
    rows = [json.loads(line) for line in (tmp_path / "sn" / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and {"loss", "val_top1", "val_loss", "val_top1_smallest", "lr", "step"} <= set(rows[0])
    assert rows[0]["step"] == (len(data.train_images) - round(0.1 * len(data.train_images))) // 32
    assert result.summary["sampling"]["rule"] == rule and result.summary["resolution"] == 16
    assert "type_warmup" not in result.summary["sampling"]  # no first layer with a type choice: no warm-up recorded
    assert result.summary["settings"]["label_smoothing"] == 0.0
    space = get_space("nas_bench_macro", resolution=16)
    supernet, payload = load_supernet(result.path, space=space, data=data)
    assert payload["validation"] == {"fraction": 0.1, "seed": 0} and payload["sampling"]["rule"] == rule
    proxy = get_proxy("supernet", supernet=str(tmp_path / "sn"))
    proxy.prepare(space=space, data=data)
    score = proxy.evaluate(space.random(0), data=data).score
    assert 0.0 <= score <= 1.0
    with pytest.raises(nas.NasError, match="trained at resolution 16, the search uses 32"):
        get_proxy("supernet", supernet=str(tmp_path / "sn")).prepare(space=get_space("nas_bench_macro"), data=data)


def test_one_seed_gives_identical_supernets_and_a_rerun_returns_the_finished_one(tmp_path: Path) -> None:
    data = synthetic_data()
    one = nas.train_supernet("nas_bench_macro", data=data, out=tmp_path / "a", rule="spos", **FAST)
    two = nas.train_supernet("nas_bench_macro", data=data, out=tmp_path / "b", rule="spos", **FAST)
    a, b = (torch.load(r.path, weights_only=True)["state_dict"] for r in (one, two))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    before = _snapshot(tmp_path / "a")
    again = nas.train_supernet("nas_bench_macro", data=data, out=tmp_path / "a", rule="spos", **{**FAST, "checkpoint_minutes": 1.0})
    assert again.summary == one.summary and _snapshot(tmp_path / "a") == before  # finished: nothing retrained or rewritten
    other = nas.train_supernet("nas_bench_macro", data=data, out=tmp_path / "c", rule="spos", **{**FAST, "seed": 1})
    c = torch.load(other.path, weights_only=True)["state_dict"]
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_other_settings_and_bad_settings_are_one_line(tmp_path: Path) -> None:
    data = synthetic_data()
    nas.train_supernet("nas_bench_macro", data=data, out=tmp_path / "sn", rule="spos", **FAST)
    before = _snapshot(tmp_path / "sn")
    with pytest.raises(TrainingError, match=r"other settings .*supernet.sampling.rule: \"spos\" here, \"sandwich\" asked"):
        nas.train_supernet("nas_bench_macro", data=data, out=tmp_path / "sn", rule="sandwich", **FAST)
    assert _snapshot(tmp_path / "sn") == before
    with pytest.raises(TrainingError, match="--rule 'greedy': must be one of spos, sandwich, fair"):
        nas.train_supernet("nas_bench_macro", data=data, out=tmp_path / "x", rule="greedy", **FAST)
    with pytest.raises(TrainingError, match="--type-warmup 1.5: must be a fraction of the training steps from 0 to 1"):
        nas.train_supernet("nas_bench_macro", data=data, out=tmp_path / "x", type_warmup=1.5, **FAST)
    with pytest.raises(TrainingError, match="--ema: a supernet keeps no EMA"):
        nas.train_supernet("nas_bench_macro", data=data, out=tmp_path / "x", ema=0.9, **FAST)
    with pytest.raises(nas.NasError, match="has no choices"):
        nas.train_supernet("mobilenet_v2", data=data, out=tmp_path / "x", **FAST)
    assert not (tmp_path / "x").exists()


def test_a_space_with_types_in_its_first_layers_records_its_type_warmup(tmp_path: Path) -> None:
    from tests.supernet.test_sampling import _typed_space

    result = nas.train_supernet(_typed_space(), data=synthetic_data(), out=tmp_path / "sn", rule="spos", type_warmup=0.5, **FAST)
    assert result.summary["sampling"] == {"rule": "spos", "type_warmup": 0.5}
