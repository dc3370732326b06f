"""The example plugin package (examples/nas-ghost-plugin), pip-installed into a temporary folder and used through the CLIs.

It brings a block the core does not know (``ghost``), a space shipped as package
data (``ghostnet``), a proxy (``channel_entropy``) and a device (``ghost-cpu``).
The package is installed with ``pip --target`` and reached through PYTHONPATH, so
the test environment itself is left as it was.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from nas.latency.table import LatencyTable
from tests.reliability.helpers import cli_env, only_study, run_cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "nas-ghost-plugin"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip install --no-deps --target`` of a copy of the example (the build leaves no files in the checkout)."""
    root = tmp_path_factory.mktemp("ghost")
    source = root / "src"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = root / "site"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert (target / "nas_ghost" / "ghostnet.yaml").exists(), "the space YAML must ship as package data"
    return target


def test_list_shows_every_kind_of_plugin_with_its_origin(installed: Path) -> None:
    result = run_cli("nas-inspect", "--list", env=cli_env(installed))
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("  ")}
    for name, group in (
        ("ghostnet", "nas.search_spaces"),
        ("ghost", "nas.blocks"),
        ("channel_entropy", "nas.proxies"),
        ("ghost-cpu", "nas.devices"),
    ):
        assert f"plugin nas-ghost-plugin (entry point {group})" in lines[name], lines.get(name)
    assert "built-in" in lines["ibn"] and "built-in" in lines["mobiledet"]


def test_profile_then_search_a_space_with_a_new_block(installed: Path, tmp_path: Path) -> None:
    """nas-profile measures the ghost block's ops; nas-search prices and scores candidates built from it."""
    env = cli_env(installed)
    table = tmp_path / "cpu.yaml"
    profile = run_cli(
        "nas-profile", "--device", "cpu", "--space", "ghostnet", "--table", table, "--min-runs", 3, "--min-seconds", 0, env=env
    )
    assert profile.returncode == 0, profile.stderr
    entries = LatencyTable.load(table).entries
    ghost_keys = [key for key in entries if key.startswith("ghost_")]
    assert ghost_keys and all(entries[key].median_ms > 0 for key in ghost_keys)

    for proxy, out in (("default", tmp_path / "default"), ("channel_entropy", tmp_path / "entropy")):
        search = run_cli(
            "nas-search",
            "--space",
            "ghostnet",
            "--device",
            "cpu",
            "--table",
            table,
            "--proxy",
            proxy,
            "--trials",
            6,
            "--sampler",
            "random",
            "--out",
            out,
            "--no-progress",
            env=env,
        )
        assert search.returncode == 0, search.stderr
        study = only_study(f"sqlite:///{out / 'study.db'}")
        done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        assert len(done) == 6
        assert any("ghost_" in t.user_attrs["arch"] for t in done), "no candidate used the plugin block"
        assert study.user_attrs["settings"]["proxy"] == ("ensemble" if proxy == "default" else proxy)
        assert (out / "best" / "model.onnx").stat().st_size > 0
    entropy = [t.values[0] for t in only_study(f"sqlite:///{tmp_path / 'entropy' / 'study.db'}").trials]
    assert all(value > 0 for value in entropy)  # sum of log2 widths


def test_plugin_device_reads_its_table_from_the_environment(installed: Path, tmp_path: Path) -> None:
    """The ``ghost-cpu`` device: its table path comes from NAS_GHOST_TABLE (else ~/.cache); nas-inspect prices a ghost arch with it."""
    table = tmp_path / "ghost-cpu.yaml"
    env = cli_env(installed, NAS_GHOST_TABLE=str(table))
    missing = run_cli("nas-inspect", "ghostnet", "--sample", 1, "--device", "ghost-cpu", env=env)
    assert missing.returncode == 2 and "nas-profile --device ghost-cpu --space ghostnet" in missing.stderr
    profile = run_cli(
        "nas-profile", "--device", "ghost-cpu", "--space", "ghostnet", "--min-runs", 3, "--min-seconds", 0, "--no-fit", env=env
    )
    assert profile.returncode == 0 and table.exists(), profile.stderr
    inspect = run_cli("nas-inspect", "ghostnet", "--sample", 1, "--device", "ghost-cpu", "--proxy", "channel_entropy", env=env)
    assert inspect.returncode == 0, inspect.stderr
    assert "latency on ghost-cpu" in inspect.stdout and "proxy channel_entropy" in inspect.stdout
