"""experiments/supernet_band.py and supernet_band_search.py: the banked truth, the interval arithmetic, block counts."""

from __future__ import annotations

import json

import pytest

from experiments import supernet_band, supernet_band_search
from nas import ArchSpec


def test_the_truth_is_the_48_banked_band_networks_with_the_mean_of_two_seeds() -> None:
    rows = supernet_band.band_networks()
    assert len(rows) == 48 and len({row["net"] for row in rows}) == 48
    assert sum(row["sample"] == "band" for row in rows) == 24 and sum(row["sample"] == "band_fresh" for row in rows) == 24
    banked = json.loads(supernet_band.BANKED_PROXIES.read_text())
    reported = {row["net"]: row for sample in ("band", "band_fresh") for row in banked[sample]["rows"]}
    for row in rows:  # the same truth and MACs as the README's +0.24 (default) and +0.35 (FLOPs)
        assert row["top1"] == pytest.approx(reported[row["net"]]["top1"])
        assert row["macs"] == reported[row["net"]]["proxy_macs"]
        assert ArchSpec.from_string(row["arch"]).resolution == 32
    truth = [row["top1"] for row in rows]
    table = supernet_band.correlations({"macs": [r["macs"] for r in rows], "default": [r["default"] for r in rows]}, truth)
    assert table["macs"]["spearman"][0] == pytest.approx(0.354, abs=0.001)
    assert table["default"]["spearman"][0] == pytest.approx(0.241, abs=0.001)


def test_intervals_bracket_the_point_and_a_paired_difference_with_itself_is_zero() -> None:
    truth = [float(v) for v in range(20)]
    noisy = [v + (3.0 if i % 4 == 0 else -2.0) for i, v in enumerate(truth)]
    table = supernet_band.correlations({"same": truth, "reversed": truth[::-1], "noisy": noisy, "macs": noisy}, truth)
    assert table["same"]["spearman"] == pytest.approx([1.0, 1.0, 1.0])
    assert table["reversed"]["spearman"][0] == pytest.approx(-1.0)
    point, low, high = table["noisy"]["spearman"]
    assert low <= point <= high < 1.0
    assert table["noisy"]["spearman_minus_macs"] == pytest.approx([0.0, 0.0, 0.0])  # paired resamples: a column minus itself
    assert table["same"]["spearman_minus_macs"][1] > 0  # better than the noisy column on every resample


def test_block_counts_of_a_found_network() -> None:
    arch = ArchSpec.from_string(
        "r32_n10,conv_k3_s1_c32_relu,ibn_k3_s1_e1_c16_relu,fused_ibn_k3_s1_e4_c8_relu,skip_s1_c8,"
        "tucker_k5_s2_i0.25_o0.25_c24_relu,ibn_k5_s1_e8_c24_relu,head_c1280_relu"
    )
    assert supernet_band_search.structure(arch) == {"types": {"fused_ibn": 1, "tucker": 1, "ibn": 2}, "skips": 1, "kernel5": 2}
