"""The host's speed drift as a measured quantity: reference readings around op profiling, re-timed fit networks (issue 26)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nas.latency.drift import DRIFT_WARN_PCT, ReferenceNetwork, SpeedProbe, drift_ratio, drift_warning, speed_change_pct
from nas.latency.host_fit import CALIBRATION_SEED, HELD_OUT_SEED, FitPlan, fit_networks, reference_network, timed_ms, timed_networks
from nas.latency.table import Entry, LatencyTable, new_header
from nas.latency.validate import fit_correction, store
from nas.space import get_space


def fake_clock(*values: float) -> SpeedProbe:
    """A probe whose reference network takes these times, one per reading (a fake timer: no machine involved)."""
    readings = iter(values)
    return SpeedProbe(lambda: next(readings))


def test_speed_change_and_drift_ratio_are_measured_against_measured() -> None:
    assert speed_change_pct(10.0, 11.0) == pytest.approx(10.0) and speed_change_pct(10.0, 9.5) == pytest.approx(-5.0)
    stored = {"100000": 10.0, "100001": 20.0, "200000": 5.0}
    # the median of now / then over the networks both have; one disturbed network does not move it
    assert drift_ratio(stored, {"100000": 10.5, "100001": 21.0, "200000": 9.0, "999": 1.0}) == pytest.approx(1.05)
    assert drift_ratio(stored, {"7": 1.0}) is None


def test_probe_records_readings_and_warns_only_above_the_threshold() -> None:
    steady = fake_clock(10.0, 10.3)
    steady.read(), steady.read()
    record = steady.record(name="mobiledet-cal0")
    assert record == {"reference": "mobiledet-cal0", "reference_ms": [10.0, 10.3], "change_pct": 3.0}
    assert drift_warning("mobiledet@224", record, redo="REDO") is None
    moved = fake_clock(10.0, 10.1, 11.2)
    for _ in range(3):
        moved.read()
    record = moved.record(name="mobiledet-cal0")
    assert record["change_pct"] == pytest.approx(12.0) and len(record["reference_ms"]) == 3
    warning = drift_warning("mobiledet@224", record, redo="taskset -c 1 nas-profile --device cpu --space mobiledet --table NEW.yaml")
    assert warning is not None and warning.startswith("WARNING: mobiledet@224:") and "+12.0 %" in warning
    assert f"±{DRIFT_WARN_PCT:g} %" in warning and warning.endswith("--table NEW.yaml") and "\n" not in warning
    faster = fake_clock(10.0, 9.0)
    faster.read(), faster.read()
    assert drift_warning("x@8", faster.record(name="x"), redo="R") is not None  # a faster host is a change too
    with pytest.raises(ValueError, match="before and after"):
        fake_clock(1.0).record(name="x")


def test_fit_networks_are_keyed_by_seed_and_their_times_come_from_the_report() -> None:
    space = get_space("proxylessnas")
    plan = FitPlan(calibration=2, held_out=3)
    by_seed = timed_networks(space, plan)
    calibration, groups = fit_networks({"p": space}, plan)
    assert list(by_seed) == [str(CALIBRATION_SEED), str(CALIBRATION_SEED + 1)] + [str(HELD_OUT_SEED + i) for i in range(3)]
    assert [a.to_string() for a in by_seed.values()] == [a.to_string() for a in [*calibration, *groups["p"]]]
    assert reference_network(space).to_string() == by_seed[str(CALIBRATION_SEED)].to_string()

    def row(ms: float) -> dict[str, dict[str, float]]:
        return {"measured": {"median_ms": ms}}

    # two spaces: calibration rows come in space order, each space's held-out rows in its group
    report = {
        "calibration": [row(1.0), row(2.0), row(10.0), row(20.0)],
        "groups": {"a": {"rows": [row(3.0), row(4.0), row(5.0)]}, "b": {"rows": [row(30.0), row(40.0), row(50.0)]}},
    }
    times = timed_ms(report, ["a", "b"], plan)
    assert times["a"] == {"100000": 1.0, "100001": 2.0, "200000": 3.0, "200001": 4.0, "200002": 5.0}
    assert times["b"]["100001"] == 20.0 and times["b"]["200002"] == 50.0


def test_store_writes_the_fit_networks_times_into_the_header(tmp_path: Path) -> None:
    table = LatencyTable(header=new_header(device="cpu", description="", source="measured", precision="fp32"), path=tmp_path / "t.yaml")
    table.entries = {"conv_x": Entry(1.0, 1.0, 1.2, 10)}
    figures = {"within_10pct": 1.0, "mape_pct": 1.0}
    group = {"corrected": figures, "uncorrected": figures, "flops_baseline": figures}
    report = {"groups": {"s@8": {**group, "measurement_round_spread_pct": 1.0, "measurement_p10_p90_pct": 2.0}}}
    store(table, report, extra={"s@8": {"timed_ms": {"100000": 1.5}}})
    assert LatencyTable.load(tmp_path / "t.yaml").header["fidelity"]["s@8"]["timed_ms"] == {"100000": 1.5}


def test_towards_common_shares_a_speed_difference_with_a_barely_covered_class() -> None:
    # every class runs 10 % slower inside the networks than alone; "skip" is a sliver of each network
    sums = [{"ibn": 8.0 + i, "tucker": 4.0 - 0.5 * i, "skip": 0.05} for i in range(6)]
    measured = [1.1 * sum(row.values()) for row in sums]
    to_one = fit_correction(sums, [3] * 6, measured, overhead_ms=0.0, towards_common=False)["type_scale"]
    to_common = fit_correction(sums, [3] * 6, measured, overhead_ms=0.0)["type_scale"]  # the default
    assert to_common == pytest.approx({"ibn": 1.1, "skip": 1.1, "tucker": 1.1}, abs=2e-3)
    assert to_one["skip"] < 1.05  # pulled towards 1: the class the data barely sees keeps its isolated value


def test_reference_network_times_a_real_network_with_one_session() -> None:
    arch = reference_network(get_space("nas_bench_macro", resolution=8))
    with ReferenceNetwork(arch, precision="fp32") as reference:
        first, second = reference(), reference()
    assert 0 < first < 50 and 0 < second < 50
    with pytest.raises(RuntimeError, match="context manager"):
        ReferenceNetwork(arch, precision="fp32")()
