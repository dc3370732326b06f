"""One command measures this host into the per-user store, filed by host; the package folder is never written (issue 26)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from nas.devices import get_device
from nas.latency.host import fingerprint, host_key
from nas.latency.signature import arch_keys
from nas.latency.table import LatencyTable, MissingEntriesError
from nas.resources import shipped_dir
from nas.target import load_target

REPO = Path(__file__).resolve().parents[2]
TINY_SPACE = ["--space", "nas_bench_macro", "--resolution", "8"]
QUICK = ["--min-runs", "3", "--min-seconds", "0", "--fit-networks", "2", "--check-networks", "3"]
# widths, kernels and an h-swish that no shipped table has at this resolution
TINY_ARCH = "r16_n10,conv_k3_s2_c16_relu6,ibn_k7_s1_e3_c20_relu6,ibn_k5_s2_e5_c28_hswish,head_c100_relu6"


def cli(module: str, *args: str, store: Path, pythonpath: Path = REPO, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NAS_TABLE_DIR": str(store), "PYTHONPATH": str(pythonpath), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, env=env, timeout=timeout)


def this_hosts_table(store: Path, device: str = "cpu") -> Path:
    return store / device / f"{host_key(fingerprint())}.yaml"


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def test_host_key_names_the_machine_not_the_run() -> None:
    here = fingerprint()
    assert host_key(here) == host_key(dict(here)) and len(host_key(here)) == 12
    assert host_key({**here, "cpus": 99, "threads": 4, "runtime_build": "other"}) == host_key(here)  # settings, not identity
    for field, value in (("model_name", "Intel(R) Xeon(R) Platinum 8480+"), ("flags", ["amx_tile"]), ("runtime_version", "0.1")):
        assert host_key({**here, field: value}) != host_key(here)


@pytest.mark.slow
def test_the_one_command_profiles_fits_and_files_the_table_by_host(tmp_path: Path) -> None:
    done = cli("nas.cli.profile", "--device", "cpu", *TINY_SPACE, *QUICK, store=tmp_path)
    assert done.returncode == 0, done.stderr
    path = this_hosts_table(tmp_path)
    assert f"measuring this host into {path}" in done.stdout and "unrecorded host" in done.stdout  # the shipped table's line
    table = LatencyTable.load(path)
    assert table.header["host"] == fingerprint() and table.source == "measured"
    correction = table.correction or {}
    assert correction["calibration_networks"] == 2 and correction["type_scale"]
    held_out = table.header["fidelity"]["nas_bench_macro@8"]
    assert held_out["n"] == 3 and 0 <= held_out["within_10pct"] <= 1 and "seeds 200000+" in held_out["note"]
    assert "nas_bench_macro@8: held out 3 networks:" in done.stdout
    # the host's drift, measured: a reference network around the ops, and the fit networks' times by seed
    speed = table.header["profiling"]["nas_bench_macro@8"]["speed"]
    assert speed["reference"] == "nas_bench_macro-cal0" and len(speed["reference_ms"]) == 2 and all(v > 0 for v in speed["reference_ms"])
    assert "nas_bench_macro@8: host speed while timing the ops: reference network" in done.stdout
    assert sorted(held_out["timed_ms"]) == ["100000", "100001", "200000", "200001", "200002"]
    # nothing but this host's table was written into the store
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.yaml")) == [f"cpu/{path.name}"]
    again = cli("nas.cli.profile", "--device", "cpu", *TINY_SPACE, *QUICK, store=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "extending this host's table" in again.stdout and "already in" in again.stdout and "0 new" in again.stdout
    assert "host speed" not in again.stdout  # nothing timed, nothing probed
    listing = cli("nas.cli.profile", "--list-devices", store=tmp_path)
    row = next(line for line in listing.stdout.splitlines() if line.split()[0] == "cpu")
    assert f"host: {fingerprint()['model_name']}, key {path.stem} (this host)" in row and "nas_bench_macro@8: " in row


def test_the_store_wins_over_the_shipped_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAS_TABLE_DIR", str(tmp_path))
    shipped = shipped_dir("latency_tables") / "cpu.yaml"
    assert get_device("cpu").table_path() == shipped  # nothing of this host yet: the shipped default
    table = LatencyTable.load(shipped)
    table.header["host"] = fingerprint()
    mine = table.save(this_hosts_table(tmp_path))
    (tmp_path / "cpu.yaml").write_text(shipped.read_text())  # a flat user copy under the device's file name loses too
    assert get_device("cpu").table_path() == mine
    assert get_device("cpu-int8").table_path() != mine and get_device("dsp").table_path().name == "dsp.yaml"
    result = cli("nas.cli.inspect", "mobilenet_v2", "--device", "cpu", "--json", store=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["latency_host_warning"] == {"cpu": None}  # this host's table: no mismatch line


@pytest.mark.slow
def test_a_read_only_package_still_profiles_into_the_store(tmp_path: Path) -> None:
    package = tmp_path / "site"
    for name in ("nas", "latency_tables", "search_spaces"):
        shutil.copytree(REPO / name, package / name, ignore=shutil.ignore_patterns("__pycache__"))
    for path in [package, *package.rglob("*")]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    before = snapshot(package)
    store = tmp_path / "store"
    try:
        done = cli("nas.cli.profile", "--device", "cpu", *TINY_SPACE, *QUICK, store=store, pythonpath=package)
        arch = cli("nas.cli.profile", "--device", "dsp", "--arch", TINY_ARCH, store=store, pythonpath=package)
    finally:
        for path in [package, *package.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    assert done.returncode == 0, done.stderr
    assert arch.returncode == 0, arch.stderr
    assert snapshot(package) == before  # root ignores the mode bits, so the files themselves are compared
    assert this_hosts_table(store).exists() and (store / "dsp.yaml").exists()
    assert str(package) not in done.stdout + arch.stdout


def test_arch_fills_a_measured_table_with_that_architectures_ops(tmp_path: Path) -> None:
    arch, _ = load_target(TINY_ARCH)
    arch_file = tmp_path / "odd.yaml"
    arch_file.write_text(arch.to_yaml())
    table_path = tmp_path / "cpu-odd.yaml"
    done = cli(
        "nas.cli.profile", "--device", "cpu", "--arch", str(arch_file), "--table", str(table_path), "--min-runs", "3", "--min-seconds", "0",
        store=tmp_path / "store",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    table = LatencyTable.load(table_path)
    assert set(table.entries) == {key for _, key in arch_keys(arch, "fp32")} and table.source == "measured"
    assert "ms from the table" in done.stdout and "no context correction" in done.stdout
    assert table.latency(arch) > 0
    assert not (tmp_path / "store").exists()  # --table: nothing else written


def test_arch_on_a_modelled_device_caches_modelled_entries_in_the_store(tmp_path: Path) -> None:
    arch, _ = load_target(TINY_ARCH)
    assert LatencyTable.load(shipped_dir("latency_tables") / "edgetpu.yaml").missing(arch)
    done = cli("nas.cli.profile", "--device", "edgetpu", "--arch", TINY_ARCH, store=tmp_path)
    assert done.returncode == 0, done.stderr
    table = LatencyTable.load(tmp_path / "edgetpu.yaml")
    assert table.source == "modelled" and not table.missing(arch)
    assert all(entry.runs == 0 for entry in table.entries.values())  # modelled, never presented as measured


def test_missing_entries_name_the_arch_command() -> None:
    arch, _ = load_target(TINY_ARCH)
    table = LatencyTable.load(shipped_dir("latency_tables") / "cpu.yaml")
    with pytest.raises(MissingEntriesError) as error:
        table.latency(arch)
    message = str(error.value)
    assert "nas-profile --device cpu --arch ARCH" in message and "--table" not in message  # the default table needs no --table
    assert "\n" not in message


def test_bad_store_or_arch_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    bad_store = cli("nas.cli.profile", "--device", "cpu", "--arch", TINY_ARCH, "--store", str(blocker / "sub"), store=tmp_path)
    assert bad_store.returncode != 0 and len(bad_store.stderr.strip().splitlines()) == 1 and "Traceback" not in bad_store.stderr
    bad_arch = cli("nas.cli.profile", "--device", "dsp", "--arch", "r16_n10,nope_k3", store=tmp_path)
    assert bad_arch.returncode != 0 and len(bad_arch.stderr.strip().splitlines()) == 1 and "Traceback" not in bad_arch.stderr
    assert not list(tmp_path.rglob("*.yaml"))


def test_summary_warns_when_whole_networks_ran_on_a_busy_machine() -> None:
    from nas.latency.host_fit import summary

    figures = {"n": 8, "within_10pct": 0.0, "mape_pct": 60.0, "spearman": 0.9}
    # the warning reads the round-to-round spread of whole networks (IQR of the round estimates), not the run spread
    busy = {"groups": {"proxylessnas@224": {"corrected": figures, "measurement_round_spread_pct": 11.8, "measurement_p10_p90_pct": 30.0}}}
    quiet = {"groups": {"proxylessnas@224": {"corrected": figures, "measurement_round_spread_pct": 2.0, "measurement_p10_p90_pct": 30.0}}}
    [_, warning] = summary(busy, device="cpu")
    assert warning.startswith("WARNING: proxylessnas@224:") and "nas-profile --device cpu --space proxylessnas --refit" in warning
    assert len(summary(quiet)) == 1


def test_fit_networks_are_disjoint_from_validation_seeds_and_labels_round_trip() -> None:
    from nas.latency.host_fit import FitPlan, fit_networks, space_label, space_of_label
    from nas.space import get_space

    space = get_space("proxylessnas")
    calibration, groups = fit_networks({"proxylessnas@224": space}, FitPlan(calibration=2, held_out=3))
    validation = {space.random(seed).to_string() for seed in range(30)}  # nas-profile validate's and the host check's seeds
    assert len(calibration) == 2 and len(groups["proxylessnas@224"]) == 3
    assert not validation & {arch.to_string() for arch in [*calibration, *groups["proxylessnas@224"]]}
    scaled = get_space("mobilenet_v2", width=0.5, resolution=160)
    rebuilt = space_of_label(space_label(scaled, scaled=True))
    assert rebuilt is not None and (rebuilt.name, rebuilt.width, rebuilt.resolution) == ("mobilenet_v2", 0.5, 160)
    assert space_of_label("/home/me/my_space.yaml@224") is None
    with pytest.raises(ValueError, match="calibration"):
        FitPlan(calibration=1)
