"""Helpers for the fault and bad-input tests: a test plugin distribution, CLI runners, study readers.

The test plugin is a real installed-looking distribution (dist-info + entry points)
on ``PYTHONPATH``, so subprocesses load its proxies through the same ``nas.proxies``
entry-point group as any user plugin.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import optuna

from tests.study.tiny import RESOLUTION, SPACE

ENTRY_POINTS = """\
[nas.proxies]
sleepy = nas_test_proxies:Sleepy
flaky_nan = nas_test_proxies:FlakyNan
flaky_raise = nas_test_proxies:FlakyRaise
flaky_memory = nas_test_proxies:FlakyMemory
flaky_oom = nas_test_proxies:FlakyOom
"""

PROXIES_MODULE = '''
"""Test proxies: a slow one (with an optional start barrier) and ones failing on a fixed third of the archs."""
import os
import time
import zlib
from pathlib import Path

import torch

from nas.counting import count
from nas.proxies import Proxy

_waited = []


def _barrier():
    """Wait until NAS_TEST_BARRIER_N processes reached their first trial (so workers really overlap)."""
    folder = os.environ.get("NAS_TEST_BARRIER")
    if not folder or _waited:
        return
    _waited.append(True)
    Path(folder, str(os.getpid())).touch()
    deadline = time.time() + 120
    while len(os.listdir(folder)) < int(os.environ.get("NAS_TEST_BARRIER_N", "1")) and time.time() < deadline:
        time.sleep(0.05)


class Sleepy(Proxy):
    name = "sleepy"

    def score(self, arch, *, seed=0, data=None, report=None):
        _barrier()
        time.sleep(float(os.environ.get("NAS_TEST_SLEEP", "0.3")))
        if os.environ.get("NAS_TEST_LOG"):  # every scored candidate, to check that none is lost or scored twice
            with open(os.environ["NAS_TEST_LOG"], "a") as log:
                log.write(f"{os.getpid()} {arch.to_string()}\\n")
        return float(count(arch).macs)


class _Flaky(Proxy):
    def score(self, arch, *, seed=0, data=None, report=None):
        if zlib.crc32(arch.to_string().encode()) % 3 == 0:
            return self.fail()
        return float(count(arch).params)


class FlakyNan(_Flaky):
    name = "flaky_nan"

    def fail(self):
        return float("nan")


class FlakyRaise(_Flaky):
    name = "flaky_raise"

    def fail(self):
        raise ValueError("synthetic proxy failure")


class FlakyMemory(_Flaky):
    name = "flaky_memory"

    def fail(self):
        raise MemoryError()


class FlakyOom(_Flaky):
    name = "flaky_oom"

    def fail(self):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
'''


def cli_env(plugin_path: Path | None = None, **extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    if plugin_path is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugin_path), env.get("PYTHONPATH", "")]))
    return env


def script(name: str) -> str:
    """The console script installed beside this interpreter (``nas-search`` ...)."""
    path = Path(sys.executable).with_name(name)
    return str(path) if path.exists() else name


def run_cli(name: str, *args: Any, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([script(name), *map(str, args)], capture_output=True, text=True, env=env or cli_env(), timeout=timeout)


def tiny_search_args(table: Path, out: Path, *extra: Any) -> list[str]:
    return ["--space", SPACE, "--resolution", str(RESOLUTION), "--device", str(table), "--out", str(out), "--no-progress", *map(str, extra)]


def load(url: str, name: str) -> optuna.Study:
    from nas.study.study import open_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.load_study(study_name=name, storage=open_storage(url))


def only_study(url: str) -> optuna.Study:
    from nas.study.study import open_storage

    names = [s.study_name for s in optuna.get_all_study_summaries(open_storage(url))]
    assert len(names) == 1, names
    return load(url, names[0])


def write_test_plugin(root: Path) -> Path:
    """Write the ``nastestproxies`` distribution (dist-info + module) into ``root``; put it on PYTHONPATH."""
    info = root / "nastestproxies-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: nastestproxies\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    (root / "nas_test_proxies.py").write_text(PROXIES_MODULE)
    return root
