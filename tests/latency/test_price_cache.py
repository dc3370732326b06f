"""Modelled prices computed on demand are cached in the user store, reused, and ignored once the model changes (issue 26)."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nas.devices import get_device
from nas.latency.backends import analytic
from nas.latency.backends.analytic import fill_modelled
from nas.latency.price_cache import cache_path, model_hash
from nas.latency.profile import arch_jobs
from nas.latency.table import LatencyTable
from nas.resources import shipped_dir
from nas.target import load_target

REPO = Path(__file__).resolve().parents[2]
# widths, kernels and an h-swish that no shipped table has at this resolution
ODD_ARCH = "r16_n10,conv_k3_s2_c16_relu6,ibn_k7_s1_e3_c20_relu6,ibn_k5_s2_e5_c28_hswish,head_c100_relu6"


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NAS_TABLE_DIR", str(tmp_path / "store"))
    return tmp_path / "store"


@pytest.mark.parametrize("device", ["dsp", "dsp-sm8550", "edgetpu"])
def test_prices_are_cached_in_the_store_and_reused(store: Path, device: str, monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = _snapshot(shipped_dir("latency_tables"))
    arch, _ = load_target(ODD_ARCH)
    table = get_device(device).load_table()
    missing = set(table.missing(arch))
    assert missing, "the architecture must need ops the shipped table lacks"
    assert fill_modelled(table, arch_jobs(arch, table.precision)) == len(missing)
    path = cache_path(device, model_hash(table.header["model"]))
    assert path.is_relative_to(store) and path.exists()
    cached = LatencyTable.load(path)
    assert set(cached.entries) == missing and cached.source == "modelled"
    assert {k: cached.entries[k] for k in missing} == {k: table.entries[k] for k in missing}
    assert _snapshot(shipped_dir("latency_tables")) == shipped  # the package folder is never written

    def no_pricing(self: object, prims: object) -> float:
        raise AssertionError("priced again although the cache holds the price")

    monkeypatch.setattr(analytic.DeviceModel, "prims_ms", no_pricing)
    again = get_device(device).load_table()
    fill_modelled(again, arch_jobs(arch, again.precision))
    assert again.latency(arch) == pytest.approx(table.latency(arch))


def test_a_cache_of_other_parameters_is_ignored(store: Path) -> None:
    arch, _ = load_target(ODD_ARCH)
    table = get_device("dsp").load_table()
    fill_modelled(table, arch_jobs(arch, table.precision))
    old_path = cache_path("dsp", model_hash(table.header["model"]))
    key = table.missing(arch) or sorted(LatencyTable.load(old_path).entries)[0]

    recalibrated = get_device("dsp").load_table()
    recalibrated.header["model"] = copy.deepcopy(recalibrated.header["model"])
    recalibrated.header["model"]["params"]["peak_gmacs"] /= 4  # a recalibration: another hash, another file
    fill_modelled(recalibrated, arch_jobs(arch, recalibrated.precision))
    new_path = cache_path("dsp", model_hash(recalibrated.header["model"]))
    assert new_path != old_path and new_path.exists()
    assert recalibrated.entries[key].median_ms != LatencyTable.load(old_path).entries[key].median_ms

    # a file under the right name whose header names another model (copied by hand) is not read either
    stale = LatencyTable.load(old_path)
    stale.entries = {k: type(e)(99.0, 99.0, 99.0, 0) for k, e in stale.entries.items()}
    stale.save(new_path)
    fresh = get_device("dsp").load_table()
    fresh.header["model"] = recalibrated.header["model"]
    fill_modelled(fresh, arch_jobs(arch, fresh.precision))
    assert fresh.entries[key].median_ms == pytest.approx(recalibrated.entries[key].median_ms)


def test_an_unwritable_store_still_prices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("NAS_TABLE_DIR", str(blocker / "store"))  # mkdir fails, even as root
    arch, _ = load_target(ODD_ARCH)
    table = get_device("edgetpu").load_table()
    assert fill_modelled(table, arch_jobs(arch, table.precision)) > 0
    assert table.latency(arch) > 0


@pytest.mark.parametrize("device", ["dsp", "edgetpu"])
def test_inspect_prices_an_arbitrary_architecture_file_with_no_prior_step(tmp_path: Path, device: str) -> None:
    arch, _ = load_target(ODD_ARCH)
    (tmp_path / "odd.yaml").write_text(arch.to_yaml())
    env = {**os.environ, "NAS_TABLE_DIR": str(tmp_path / "store"), "PYTHONPATH": str(REPO)}
    args = [sys.executable, "-m", "nas.cli.inspect", str(tmp_path / "odd.yaml"), "--device", device]
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert device in done.stdout and "ms" in done.stdout
    assert list((tmp_path / "store" / device).glob("modelled-*.yaml"))  # cached for the next call
    again = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0 and again.stdout == done.stdout
