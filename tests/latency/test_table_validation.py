"""Latency tables are validated whole on load: finite non-negative entries, typed header fields, text files only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nas.latency.table import LatencyTable, TableError

GOOD: dict[str, Any] = {
    "format": "nas-latency-table",
    "version": 1,
    "device": {"name": "cpu", "description": "x"},
    "source": "measured",
    "precision": "fp32",
    "entries": {"conv_k3@8": [0.1, 0.09, 0.12, 50]},
}


def _with(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


def test_a_good_table_loads() -> None:
    assert LatencyTable.from_data(GOOD).entries["conv_k3@8"].median_ms == 0.1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_with(entries={"k": [float("nan"), 0.1, 0.1, 5]}), r"entries\.k: latencies must be finite numbers >= 0"),
        (_with(entries={"k": [float("inf"), 0.1, 0.1, 5]}), r"entries\.k: latencies must be finite"),
        (_with(entries={"k": [-3.8, 0.1, 0.1, 5]}), r"entries\.k: latencies must be finite numbers >= 0"),
        (_with(entries={"k": [0.1, 0.1, 0.1, 2.5]}), r"entries\.k: runs must be an integer"),
        (_with(entries={"k": [True, 0.1, 0.1, 5]}), r"entries\.k: latencies must be"),
        (_with(entries={"k\x1b[2J": [0.1, 0.1, 0.1, 5]}), r"op key .*\\x1b.* must be a printable string"),
        (_with(device="cpu"), r"device: expected a mapping"),
        (_with(device={"name": 5}), r"device: expected a mapping"),
        (_with(precision=["fp32"]), r"precision: expected text"),
        (_with(correction=[1, 2]), r"correction: expected a mapping"),
        (_with(correction={"scale": float("nan")}), r"correction\.scale: expected a finite number"),
        (_with(correction={"offset_ms": "1"}), r"correction\.offset_ms: expected a finite number"),
        (_with(correction={"scale": -1}), r"correction\.scale: expected a number >= 0"),
        (_with(correction={"type_scale": [1]}), r"correction\.type_scale: expected a mapping"),
        (_with(correction={"type_scale": {"ibn": float("inf")}}), r"correction\.type_scale\.'ibn': expected a finite factor"),
        (_with(entry_count="many"), r"entry_count: expected an integer"),
    ],
)
def test_bad_fields_are_refused_naming_the_key(data: dict[str, Any], message: str) -> None:
    with pytest.raises(TableError, match=message) as error:
        LatencyTable.from_data(data, path=Path("t.yaml"))
    assert str(error.value).startswith("t.yaml: ") and "\n" not in str(error.value) and "\x1b" not in str(error.value)


def test_a_nan_written_by_save_is_refused_on_load(tmp_path: Path) -> None:
    """The fast path (the layout ``save`` writes) validates as the YAML path does."""
    path = tmp_path / "t.yaml"
    LatencyTable.from_data(GOOD).save(path)
    path.write_text(path.read_text().replace("[0.1, 0.09", "[nan, 0.09"))
    with pytest.raises(TableError, match=r"entries\.conv_k3@8: latencies must be finite"):
        LatencyTable.load(path)


def test_a_binary_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_bytes(b"\xff\xfe\x00\x89PNG" * 20)
    with pytest.raises(TableError, match=r"t\.yaml: not a latency table \(binary"):
        LatencyTable.load(path)
