"""The installed (non-editable) package runs the main job from a folder outside the checkout.

It needs the interpreter running the tests to hold mobilenas as a wheel or `pip install .`, as
`.ci/run` sets up; on a source checkout (PYTHONPATH or an editable install) it skips, unless
NAS_REQUIRE_WHEEL=1 (set by CI) turns that skip into a failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _outside_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the installed package, not this checkout
    return env


def _installed_nas(cwd: Path) -> Path | None:
    """The package `import nas` finds outside the checkout, or None unless it is a wheel-style install (with nas/_data)."""
    done = subprocess.run(
        [sys.executable, "-c", "import nas; print(nas.__file__)"], cwd=cwd, env=_outside_env(), capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        return None
    package = Path(done.stdout.strip()).resolve().parent
    return package if (package / "_data").is_dir() else None  # an editable install or a checkout has no _data/


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    if _installed_nas(folder) is None:
        message = f"mobilenas is not installed as a wheel into {sys.executable} (.ci/run installs one)"
        if os.environ.get("NAS_REQUIRE_WHEEL") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return folder


def _run(folder: Path, *command: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=folder, env=_outside_env(), capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done


def test_installed_package_ships_its_data(outside: Path) -> None:
    script = "from nas.resources import shipped_dir; print(shipped_dir('search_spaces')); print(shipped_dir('latency_tables'))"
    done = subprocess.run([sys.executable, "-c", script], cwd=outside, env=_outside_env(), capture_output=True, text=True, timeout=120)
    spaces, tables = (Path(line) for line in done.stdout.split())
    assert spaces.parts[-2:] == ("_data", "search_spaces") and (spaces / "mobiledet.yaml").is_file()
    assert tables.parts[-2:] == ("_data", "latency_tables") and (tables / "dsp.yaml").is_file()


def test_inspect_from_outside(outside: Path) -> None:
    done = _run(outside, "nas-inspect", "mobilenet_v2", "--device", "cpu")
    assert "mobilenet_v2" in done.stdout


@pytest.mark.slow
def test_main_job_from_outside(outside: Path) -> None:
    out = outside / "run"
    _run(outside, "nas-search", "--device", "dsp", "--trials", "10", "--out", str(out), "--no-progress")
    assert (out / "pareto.png").stat().st_size > 0
    assert (out / "report.md").stat().st_size > 0 and (out / "trials.csv").is_file()
    assert any(out.glob("best/*.onnx")), sorted(p.name for p in out.rglob("*"))
