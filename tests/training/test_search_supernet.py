"""``with_supernet``: which accuracy signal a search gets, and when it trains, reuses or refuses a supernet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nas.errors import NasError
from nas.proxies.data import synthetic_data
from nas.space import get_space
from nas.study.settings import SearchSettings
from nas.supernet import Supernet
from nas.supernet.checkpoint import save_supernet
from nas.training.search_supernet import with_supernet


def _settings(tmp_path: Path, tiny_table: Path, **changes: object) -> SearchSettings:
    base = {"space": "nas_bench_macro", "resolution": 16, "device": str(tiny_table), "trials": 2, "out": str(tmp_path / "run")}
    return SearchSettings(**{**base, **changes})  # type: ignore[arg-type]


def test_a_proxy_or_no_data_leaves_the_settings_alone(tmp_path: Path, tiny_table: Path) -> None:
    for settings in (_settings(tmp_path, tiny_table), _settings(tmp_path, tiny_table, data="synthetic", proxy="default")):
        assert with_supernet(settings, progress=False) == settings
    given = with_supernet(_settings(tmp_path, tiny_table, data="synthetic", supernet="elsewhere"), progress=False)
    assert given.proxy == "supernet" and given.supernet == "elsewhere"
    assert not (tmp_path / "run").exists()


def test_a_matching_supernet_in_out_is_reused_and_another_is_refused(tmp_path: Path, tiny_table: Path) -> None:
    data = synthetic_data()
    folder = tmp_path / "run" / "supernet"
    space = get_space("nas_bench_macro", resolution=16, num_classes=data.num_classes)
    save_supernet(folder, supernet=Supernet(space=space), data=data, validation={"fraction": 0.1, "seed": 0}, sampling={}, training={})
    before = (folder / "supernet.pt").read_bytes()
    chosen = with_supernet(_settings(tmp_path, tiny_table, data="synthetic"), progress=False)
    assert chosen.proxy == "supernet" and chosen.supernet == str(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["supernet.pt"] and (folder / "supernet.pt").read_bytes() == before  # not retrained
    with pytest.raises(NasError, match="trained at resolution 16, the search uses 32; it is in this search's --out"):
        with_supernet(_settings(tmp_path, tiny_table, data="synthetic", resolution=32), progress=False)


def test_an_out_holding_a_search_without_supernet_is_refused_before_training(tmp_path: Path, tiny_table: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "search.json").write_text(json.dumps({"study_name": "other", "storage": "x"}))
    with pytest.raises(NasError, match="holds a search that did not use a supernet"):
        with_supernet(_settings(tmp_path, tiny_table, data="synthetic"), progress=False)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["search.json"]


def test_bad_settings_fail_before_any_training(tmp_path: Path, tiny_table: Path) -> None:
    with pytest.raises(NasError, match="no entry for"):  # the shipped cpu table has no 16-px nas_bench_macro ops
        with_supernet(_settings(tmp_path, tiny_table, data="synthetic", device="cpu"), progress=False)
    assert not (tmp_path / "run").exists()
