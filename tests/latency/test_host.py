"""Host fingerprint: recorded by nas-profile, validated on load, compared with this host (issue 26)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nas.latency.host import KERNEL_FLAGS, fingerprint, host_key, host_mismatch
from nas.latency.table import LatencyTable, TableError
from nas.resources import shipped_dir

SHIPPED_CPU = shipped_dir("latency_tables") / "cpu.yaml"


def other_host() -> dict:
    here = fingerprint()
    flags = [flag for flag in KERNEL_FLAGS if flag not in here["flags"]][:1] or []
    return {**here, "model_name": "Intel(R) Xeon(R) Platinum 8480+", "family": "6", "model": "143", "flags": flags}


def table_with_host(tmp_path: Path, host: dict) -> Path:
    table = LatencyTable.load(SHIPPED_CPU)
    table.header["host"] = host
    return table.save(tmp_path / "cpu.yaml")


def test_fingerprint_names_this_cpu_and_runtime() -> None:
    import onnxruntime

    here = fingerprint(threads=1)
    assert here["runtime_version"] == onnxruntime.__version__
    assert here["cpus"] >= 1 and here["threads"] == 1
    assert set(here["flags"]) <= set(KERNEL_FLAGS)
    if Path("/proc/cpuinfo").exists():
        info = Path("/proc/cpuinfo").read_text()
        assert here["model_name"] in info
        assert all(f" {flag}" in info for flag in here["flags"])


def test_other_host_is_named_in_one_line(tmp_path: Path) -> None:
    table = LatencyTable.load(table_with_host(tmp_path, other_host()))
    line = host_mismatch(table.header, device="cpu", space="mobiledet")
    assert line is not None and "\n" not in line
    assert "Xeon" in line and fingerprint()["model_name"] in line
    assert "nas-profile --device cpu --space mobiledet" in line


def test_this_hosts_table_has_no_line(tmp_path: Path) -> None:
    table = LatencyTable.load(table_with_host(tmp_path, fingerprint()))
    assert host_mismatch(table.header, device="cpu") is None


def test_old_table_without_fingerprint_loads_as_unrecorded_host() -> None:
    table = LatencyTable.load(SHIPPED_CPU)
    line = host_mismatch(table.header, device="cpu")
    assert line is not None and "unrecorded host" in line and "host_cpu: AMD EPYC" in line


def test_modelled_tables_have_no_host_line() -> None:
    table = LatencyTable.load(shipped_dir("latency_tables") / "dsp.yaml")
    assert host_mismatch(table.header, device="dsp") is None


@pytest.mark.parametrize("host", [["x"], {"flags": "avx2"}, {"cpus": 0}, {"model_name": ["a"]}, {"threads": True}])
def test_bad_host_field_is_refused_on_load(tmp_path: Path, host: object) -> None:
    path = table_with_host(tmp_path, host)  # type: ignore[arg-type]
    with pytest.raises(TableError, match=r"cpu\.yaml: host: "):
        LatencyTable.load(path)


def test_extending_another_hosts_table_is_refused(tmp_path: Path) -> None:
    from nas.devices import get_device
    from nas.latency.backends import make_backend
    from nas.latency.profile import open_table

    path = table_with_host(tmp_path, other_host())
    backend = make_backend("ort", device=get_device("cpu"), threads=1)
    with pytest.raises(TableError, match="another host"):
        open_table(path, device=get_device("cpu"), backend=backend, precision="fp32")


def nas_inspect(*args: str, table_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NAS_TABLE_DIR": str(table_dir)}
    return subprocess.run([sys.executable, "-m", "nas.cli.inspect", *args], capture_output=True, text=True, env=env, timeout=120)


def test_nas_inspect_warns_about_another_hosts_table(tmp_path: Path) -> None:
    table_with_host(tmp_path, other_host())
    result = nas_inspect("mobilenet_v2", "--device", "cpu", table_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stdout.splitlines() if line.startswith("WARNING:")]
    assert len(warnings) == 1 and "Xeon" in warnings[0] and "nas-profile --device cpu --space SPACE" in warnings[0]


def test_nas_inspect_is_quiet_for_this_hosts_table(tmp_path: Path) -> None:
    table_with_host(tmp_path, fingerprint())
    result = nas_inspect("mobilenet_v2", "--device", "cpu", "--json", table_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["latency_host_warning"] == {"cpu": None}


ODD_ARCH = "r160_n10,conv_k3_s2_c24_relu6,ibn_k7_s1_e3_c20_relu6,ibn_k7_s2_e5_c44_relu6,ibn_k5_s1_e4_c44_relu,ibn_k7_s2_e6_c88_relu6,head_c700_relu6"


@pytest.mark.parametrize("device", ["dsp", "edgetpu", "dsp-sm8550"])
def test_nas_inspect_prices_any_arch_on_modelled_devices(tmp_path: Path, device: str) -> None:
    table = LatencyTable.load(shipped_dir("latency_tables") / f"{device}.yaml")
    from nas.target import load_target

    arch, _ = load_target(ODD_ARCH)
    assert table.missing(arch), "the test needs ops the shipped table lacks"
    arch_file = tmp_path / "odd.yaml"
    arch_file.write_text(arch.to_yaml())
    result = nas_inspect(str(arch_file), "--device", device, "--json", table_dir=tmp_path / "empty")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["latency_source"][device] == "modelled" and data["latency_ms"][device] > 0
    # nothing but the cache of on-demand prices is written, and only into the store
    assert [p.relative_to(tmp_path / "empty").parent.as_posix() for p in (tmp_path / "empty").rglob("*.*")] == [device]
    assert [p.name.startswith("modelled-") for p in (tmp_path / "empty").rglob("*.*")] == [True]


def test_ort_backend_header_carries_the_fingerprint() -> None:
    from nas.devices import get_device
    from nas.latency.backends import make_backend

    header = make_backend("ort", device=get_device("cpu"), threads=1).header()
    assert header["host"] == fingerprint(runtime="onnxruntime", provider="CPUExecutionProvider", threads=1)


def test_on_demand_prices_equal_the_analytic_backend() -> None:
    from nas.devices import get_device
    from nas.latency.backends import make_backend
    from nas.latency.backends.analytic import fill_modelled
    from nas.latency.profile import arch_jobs
    from nas.target import load_target

    arch, _ = load_target(ODD_ARCH)
    table = get_device("dsp").load_table()
    jobs = arch_jobs(arch, table.precision)
    missing = [job for job in jobs if job.key not in table.entries]
    assert fill_modelled(table, jobs) == len(missing) > 0
    expected = make_backend("analytic", device=get_device("dsp")).measure(missing, precision="int8").entries
    assert {job.key: table.entries[job.key] for job in missing} == expected
    assert table.latency(arch) == table.predict(arch).latency_ms
    cpu = get_device("cpu").load_table()
    assert fill_modelled(cpu, jobs) == 0 and cpu.missing(arch)  # measured tables are never filled with modelled numbers


def test_search_note_and_report_carry_the_line(tmp_path: Path) -> None:
    from nas.exporting.report import provenance
    from nas.study.driver import table_note

    other = LatencyTable.load(table_with_host(tmp_path, other_host()))
    assert "WARNING:" in table_note(other, "cpu", "mobiledet") and "--space mobiledet" in table_note(other, "cpu", "mobiledet")
    assert any(line.startswith("> **Host:**") and "Xeon" in line for line in provenance(other, "mobiledet"))
    mine = LatencyTable.load(table_with_host(tmp_path, fingerprint()))
    assert "WARNING" not in table_note(mine, "cpu") and not any("**Host:**" in line for line in provenance(mine))


def test_list_devices_names_each_measured_tables_host(tmp_path: Path) -> None:
    table_with_host(tmp_path, other_host())
    env = {**os.environ, "NAS_TABLE_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "nas.cli.profile", "--list-devices"], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert f"host: Intel(R) Xeon(R) Platinum 8480+, key {host_key(other_host())} (another host)" in rows["cpu"]
    assert "host: unrecorded (AMD EPYC)" in rows["cpu-int8"]
    assert "host:" not in rows["dsp"]


def test_list_devices_shows_every_hosts_table_in_the_store_and_cached_prices(tmp_path: Path) -> None:
    from nas.devices import get_device
    from nas.latency.backends.analytic import fill_modelled
    from nas.latency.profile import arch_jobs
    from nas.target import load_target

    here, there = fingerprint(), other_host()
    for host in (here, there):
        table = LatencyTable.load(SHIPPED_CPU)
        table.header["host"] = host
        table.save(tmp_path / "cpu" / f"{host_key(host)}.yaml")
    env = {**os.environ, "NAS_TABLE_DIR": str(tmp_path)}
    os.environ["NAS_TABLE_DIR"], saved = str(tmp_path), os.environ.get("NAS_TABLE_DIR")
    try:  # on-demand prices of an architecture the dsp table lacks, cached in this store
        arch, _ = load_target("r16_n10,conv_k3_s2_c16_relu6,ibn_k7_s1_e3_c20_relu6,head_c100_relu6")
        dsp = get_device("dsp").load_table()
        priced = fill_modelled(dsp, arch_jobs(arch, dsp.precision))
    finally:
        os.environ.pop("NAS_TABLE_DIR") if saved is None else os.environ.update(NAS_TABLE_DIR=saved)
    result = subprocess.run(
        [sys.executable, "-m", "nas.cli.profile", "--list-devices"], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    cpu = next(i for i, line in enumerate(lines) if line.startswith("cpu "))
    assert f"key {host_key(here)} (this host)" in lines[cpu]
    assert f"also in the store: {tmp_path / 'cpu' / host_key(there)}.yaml" in lines[cpu + 1]
    assert f"Xeon(R) Platinum 8480+, key {host_key(there)} (another host)" in lines[cpu + 1]
    dsp_row = next(i for i, line in enumerate(lines) if line.startswith("dsp "))
    assert f"on-demand prices cached: {priced} ops in {tmp_path / 'dsp'}/modelled-" in lines[dsp_row + 1]


def test_extending_an_unrecorded_hosts_table_keeps_its_host_unknown(tmp_path: Path) -> None:
    from nas.devices import get_device
    from nas.latency.backends import make_backend
    from nas.latency.profile import open_table

    backend = make_backend("ort", device=get_device("cpu"), threads=1)
    unrecorded = LatencyTable.load(SHIPPED_CPU)
    unrecorded.header["statistic"] = backend.header()["statistic"]  # timed by today's rule, host not recorded
    path = unrecorded.save(tmp_path / "cpu.yaml")
    assert "host" not in open_table(path, device=get_device("cpu"), backend=backend, precision="fp32").header
    fresh = open_table(tmp_path / "new.yaml", device=get_device("cpu"), backend=backend, precision="fp32")
    assert fresh.header["host"] == fingerprint()
