"""HW-NAS-Bench FBNet LUT import into pixel3 / raspi4 / edgegpu tables (data read from ../shared when present)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nas.cli import profile_import
from nas.latency.hwnasbench import lut_keys
from nas.latency.table import LatencyTable
from nas.space import get_space

LUT = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "hw-nas-bench" / "fbnet_lut.json"
needs_data = pytest.mark.skipif(not LUT.exists(), reason=f"HW-NAS-Bench LUT not found at {LUT} (../shared/data beside the repo)")


def test_fbnet_ops_map_to_benchmark_keys() -> None:
    ops, heads = get_space("fbnet").ops()
    grouped = [op for op in ops if op.spec.option("groups", 1) == 2]
    assert grouped and lut_keys(grouped[0])[0].endswith("_group2")
    assert len(lut_keys(heads[0])) == 3  # head conv + pool + classifier


@needs_data
@pytest.mark.parametrize("device", ["pixel3", "raspi4", "edgegpu"])
def test_import_prices_every_fbnet_arch_as_the_benchmark_sums(device: str, tmp_path: Path) -> None:
    import json

    out = tmp_path / f"{device}.yaml"
    assert profile_import.main([str(LUT), "--format", "hw-nas-bench", "--device", device, "--table", str(out)]) == 0
    table = LatencyTable.load(out)
    assert table.source == "imported"
    lut = json.loads(LUT.read_text())[f"{device}_latency"]
    space = get_space("fbnet")
    arch = space.random(3)
    expected = sum(
        lut[k]
        for pos in arch.positions()
        for k in lut_keys(type("Op", (), {"spec": pos.spec, "in_channels": pos.in_channels, "in_size": pos.in_size}))
    )
    head = type(
        "H", (), {"in_channels": arch.out_channels, "in_size": arch.final_size, "out": arch.head.out, "num_classes": arch.num_classes}
    )
    expected += sum(lut[k] for k in lut_keys(head))
    assert table.latency(arch) == pytest.approx(expected, rel=1e-6)


@needs_data
def test_example_from_the_readme(tmp_path: Path) -> None:
    out = tmp_path / "p.yaml"
    profile_import.main([str(LUT), "--format", "hw-nas-bench", "--device", "pixel3", "--table", str(out)])
    entries = LatencyTable.load(out).entries
    assert entries["ibn_k3_s1_h144_c24_relu@56x56x24/fp32"].median_ms == pytest.approx(8.13, abs=0.01)
