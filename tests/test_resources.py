"""Shipped data is found from the source tree; built tables go to the per-user folder, never the shipped one."""

from __future__ import annotations

from pathlib import Path

import pytest

from nas.devices import get_device
from nas.resources import shipped_dir, table_file, user_table_dir, writable_table
from nas.space import space_names

REPO = Path(__file__).resolve().parents[1]


def test_source_checkout_falls_back_to_the_top_level_folders() -> None:
    # `import nas` here is the source tree (no nas/_data/), so the folders beside nas/ are used.
    assert shipped_dir("search_spaces") == REPO / "search_spaces"
    assert shipped_dir("latency_tables") == REPO / "latency_tables"
    assert {"mobilenet_v2", "mobiledet"} <= set(space_names())


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        shipped_dir("weights")


def test_user_folder_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NAS_TABLE_DIR", str(tmp_path))
    assert user_table_dir() == tmp_path
    monkeypatch.delenv("NAS_TABLE_DIR")
    assert user_table_dir().parts[-2:] == ("mobilenas", "latency_tables")


def test_a_user_table_wins_over_the_shipped_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NAS_TABLE_DIR", str(tmp_path))
    assert table_file("cpu.yaml") == REPO / "latency_tables" / "cpu.yaml"
    (tmp_path / "cpu.yaml").write_text("mine")
    assert table_file("cpu.yaml") == tmp_path / "cpu.yaml"
    assert get_device("cpu").table_path() == tmp_path / "cpu.yaml"
    # A table that exists nowhere is looked for (and built) in the user's folder.
    assert table_file("pixel3.yaml") == tmp_path / "pixel3.yaml"


def test_writes_never_go_into_the_shipped_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NAS_TABLE_DIR", str(tmp_path))
    assert writable_table(REPO / "latency_tables" / "cpu.yaml") == tmp_path / "cpu.yaml"
    elsewhere = tmp_path / "other" / "t.yaml"
    assert writable_table(elsewhere) == elsewhere
    assert get_device("dsp").measured_table_path() == tmp_path / "dsp-measured.yaml"
