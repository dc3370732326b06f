"""Analytic device models: primitives from Block.convs, channel padding, shipped modelled tables (the fit: tests/experiments)."""

from __future__ import annotations


import pytest

from nas.arch import block_from_dict
from nas.latency.devices import get_device
from nas.latency.backends import Job, make_backend
from nas.latency.backends.analytic import Prim, block_prims, device_model
from nas.latency.profile import space_jobs
from nas.space import get_space

MODELLED = ("dsp", "dsp-sm8550", "edgetpu")


def ibn(c: int, **keys):  # type: ignore[no-untyped-def]
    return block_from_dict({"type": "ibn", "out": c, "kernel": 3, "stride": 1, "expansion": 4, "act": "relu", **keys}, key="t")


def test_block_prims_follow_block_convs_and_add_runtime_ops() -> None:
    plain = block_prims(ibn(24), in_channels=24, in_size=28)
    assert [p.kind for p in plain] == ["conv", "conv", "conv", "eltwise"]  # expand, depthwise, project, residual add
    assert plain[1].op_class(32) == "depthwise" and plain[0].op_class(32) == "pointwise"
    fancy = block_prims(ibn(24, act="hswish", se=0.25), in_channels=16, in_size=28)
    kinds = [p.kind for p in fancy]
    assert kinds.count("eltwise") == 3  # two h-swish ops + the SE multiply; no residual (16 → 24)
    assert kinds.count("pool") == 1 and sum(p.pooled and p.kind == "conv" for p in fancy) == 2
    assert block_prims(block_from_dict({"type": "skip", "out": 24, "stride": 1}, key="s"), in_channels=24, in_size=28) == []


def test_narrow_grouped_convs_count_as_depthwise_class() -> None:
    assert Prim("conv", 128, 128, 14, 3, groups=32).op_class(32) == "depthwise"
    assert Prim("conv", 192, 192, 14, 3, groups=4).op_class(32) == "regular"


@pytest.mark.parametrize("device", ["dsp", "edgetpu"])
def test_channel_padding_makes_36_cost_what_40_costs(device: str) -> None:
    model, _ = device_model(device)
    conv = {c: block_from_dict({"type": "conv", "out": c, "kernel": 3, "stride": 1, "act": "relu"}, key="c") for c in (33, 36, 40, 48)}
    cost = {c: model.prims_ms(block_prims(spec, in_channels=c, in_size=28)) for c, spec in conv.items()}
    assert cost[36] == pytest.approx(cost[40], rel=0.01) and cost[33] == pytest.approx(cost[40], rel=0.01)  # only weight bytes differ
    if device == "edgetpu":  # vector width 8: 48 channels pay for one more vector
        assert cost[48] > 1.1 * cost[40]


@pytest.mark.parametrize("device", MODELLED)
def test_shipped_modelled_tables_cover_every_shipped_space_and_say_so(device: str) -> None:
    table = get_device(device).load_table()
    assert table.source == "modelled" and table.precision == "int8"
    assert "MODELLED" in table.header["notes"] and "bundle" in table.header["notes"]
    loo = table.header["fidelity"]["leave_one_out"]
    assert loo["networks"] >= 8 and loo["median_loo_error_pct"] <= 20
    networks = {row["network"] for row in table.header["calibration"]["networks"]}
    assert "mobilenet_v2" in networks
    for name in ("mobiledet", "mobilenet_v2", "proxylessnas", "fbnet", "nas_bench_macro", "mobiledet_cifar"):
        jobs = space_jobs(*get_space(name).ops(), "int8")
        assert all(job.key in table.entries for job in jobs), name
    for width in (0.35, 0.5, 0.75):
        assert not table.missing(get_space("mobilenet_v2", width=width).arch({}))
        assert not table.missing(get_space("mobilenet_v2_cifar", width=width).arch({}))
    assert all(entry.runs == 0 for entry in table.entries.values())  # modelled numbers never pose as runs


def test_dsp_table_shows_resnet18_as_fast_as_mobilenet_v2() -> None:
    rows = {row["network"]: row for row in get_device("dsp").load_table().header["calibration"]["networks"]}
    assert "resnet18" in rows and rows["resnet18"]["gmacs"] > 5 * rows["mobilenet_v2"]["gmacs"]
    assert rows["resnet18"]["fitted_ms"] / rows["mobilenet_v2"]["fitted_ms"] == pytest.approx(1.0, abs=0.2)


def test_dsp_prefers_fused_ibn_at_low_channels_unlike_cpu_flops() -> None:
    table = get_device("dsp").load_table()
    model, _ = device_model("dsp")
    fused = block_from_dict({"type": "fused_ibn", "out": 24, "kernel": 3, "stride": 1, "expansion": 4, "act": "relu"}, key="f")
    dsp_ratio = model.prims_ms(block_prims(fused, in_channels=24, in_size=56)) / model.prims_ms(
        block_prims(ibn(24), in_channels=24, in_size=56)
    )
    assert dsp_ratio < 1.0  # 6.6× the MACs, yet cheaper on the HTP
    assert table.header["model"]["params"]["eff_depthwise"] < 0.2


def test_analytic_backend_reproduces_the_shipped_entries() -> None:
    device = get_device("dsp")
    table = device.load_table()
    jobs = space_jobs(*get_space("mobilenet_v2").ops(), "int8")
    backend = make_backend("analytic", device=device)
    result = backend.measure(jobs, precision="int8")
    assert backend.source == "modelled" and backend.header()["model"]["params"] == table.header["model"]["params"]
    for job in jobs:
        assert result.entries[job.key].median_ms == pytest.approx(table.entries[job.key].median_ms, rel=1e-4)
    assert isinstance(jobs[0], Job)
