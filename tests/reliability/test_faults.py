"""Faults: a search or an export killed with SIGKILL, a crashed remote worker, proxies that fail or run out of memory."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from nas.api import search
from nas.proxies import PROXIES
from nas.study.study import fail_stale_trials, open_storage
from tests.reliability.helpers import cli_env, load, only_study, run_cli, script, tiny_search_args
from tests.study.tiny import RESOLUTION, SPACE


def _wait_for(predicate: Any, *, timeout: float, what: str, process: subprocess.Popen[str] | None = None) -> None:
    deadline = time.time() + timeout
    while not predicate():
        if process is not None and process.poll() is not None:
            raise AssertionError(
                f"the process ended (rc {process.returncode}) before {what}: {process.stderr.read() if process.stderr else ''}"
            )
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _states(url: str) -> dict[str, int]:
    """Trial states in a study file, read with sqlite3 (cheap enough to poll while a search writes)."""
    import sqlite3

    path = url.removeprefix("sqlite:///")
    if not Path(path).exists():
        return {}
    try:
        with sqlite3.connect(path, timeout=5) as connection:
            return dict(connection.execute("SELECT state, count(*) FROM trials GROUP BY state").fetchall())
    except sqlite3.OperationalError:  # tables not created yet
        return {}


@pytest.mark.slow
def test_sigkill_during_search_then_rerun_resumes(tiny_table: Path, plugin_path: Path, tmp_path: Path) -> None:
    """A real nas-search killed mid-trial: finished trials survive unchanged, the running one is failed, the rerun completes."""
    out = tmp_path / "run"
    url = f"sqlite:///{out / 'study.db'}"
    command = [
        script("nas-search"),
        *tiny_search_args(tiny_table, out, "--proxy", "sleepy", "--trials", 8, "--sampler", "random", "--seed", 5),
    ]
    env = cli_env(plugin_path, NAS_TEST_SLEEP="0.3")
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(
            lambda: _states(url).get("COMPLETE", 0) >= 3 and _states(url).get("RUNNING", 0) == 1,
            timeout=90,
            what="3 complete trials",
            process=process,
        )
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    killed = only_study(url)
    running = [t.number for t in killed.trials if t.state == TrialState.RUNNING]
    done = {t.number: (t.params, t.values, t.user_attrs["arch"]) for t in killed.trials if t.state == TrialState.COMPLETE}
    assert len(running) == 1 and 3 <= len(done) < 8

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    assert rerun.returncode == 0, rerun.stderr
    study = only_study(url)
    by_number = {t.number: t for t in study.trials}
    assert sum(t.state == TrialState.COMPLETE for t in study.trials) == 8
    assert not [t for t in study.trials if t.state == TrialState.RUNNING]
    assert {n: (by_number[n].params, by_number[n].values, by_number[n].user_attrs["arch"]) for n in done} == done
    stale = by_number[running[0]]
    assert stale.state == TrialState.FAIL and "ended while the trial ran" in stale.user_attrs["fail_reason"]
    assert "1 failed" in (out / "report.md").read_text()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_trial_of_a_crashed_remote_worker_is_failed_after_the_grace_period(
    tiny_table: Path, tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    """Trials RUNNING on another host: failed once their Optuna heartbeat is older than the grace period, kept while it is fresh."""
    url = request.getfixturevalue("postgres_url") if backend == "postgres" else f"sqlite:///{tmp_path / 'study.db'}"
    name = f"remote-{os.getpid()}-{time.time_ns()}"
    options = {
        "space": SPACE,
        "resolution": RESOLUTION,
        "device": str(tiny_table),
        "proxy": "macs",
        "storage": url,
        "study_name": name,
        "progress": False,
        "heartbeat": 1,
        "out": tmp_path / "out",
    }
    try:
        search(**options, trials=2)  # creates the study with its settings
        storage = open_storage(url, heartbeat_s=1)
        study = optuna.load_study(study_name=name, storage=storage)
        crashed = storage.create_new_trial(study._study_id)
        storage.set_trial_user_attr(crashed, "worker", "elsewhere:4242")
        storage.record_heartbeat(crashed)
        time.sleep(4.2)  # grace period: 3 heartbeats of 1 s (+1 s: SQLite keeps whole-second timestamps)
        alive = storage.create_new_trial(study._study_id)
        storage.set_trial_user_attr(alive, "worker", "elsewhere:4343")
        storage.record_heartbeat(alive)
        assert fail_stale_trials(study) == 1  # what every search does first
        trials = {t._trial_id: t for t in load(url, name).trials}
        assert trials[crashed].state == TrialState.FAIL
        assert "no heartbeat from worker elsewhere:4242 for more than 3 s" in trials[crashed].user_attrs["fail_reason"]
        assert trials[alive].state == TrialState.RUNNING, "a trial with a fresh heartbeat must not be failed"

        search(**options, trials=4)  # the study still reaches its total
        trials = {t._trial_id: t for t in load(url, name).trials}
        assert sum(t.state == TrialState.COMPLETE for t in trials.values()) == 4
        if backend == "postgres":  # a server study: the remote trial held a slot, so the worker waited for it to go stale
            assert trials[alive].state == TrialState.FAIL and "elsewhere:4343" in trials[alive].user_attrs["fail_reason"]
    finally:
        if backend == "postgres":
            optuna.delete_study(study_name=name, storage=url)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check_export_folder(folder: Path, old: dict[str, str], new_arch: str) -> None:
    """Every visible file is either the old version, byte for byte, or a complete new one."""
    import onnx

    from nas.arch import ArchSpec

    for name, digest in old.items():
        path = folder / name
        assert path.exists(), f"{name} vanished"
        if _digest(path) == digest:
            continue
        if name.endswith(".onnx"):
            onnx.checker.check_model(onnx.load(str(path)))
        elif name == "export.json":  # the export's summary (nas.exporting.summary)
            assert json.loads(path.read_text())["arch_string"] == new_arch
        elif name == "export.md":
            assert f"`{new_arch}`" in path.read_text()
        else:
            assert ArchSpec.from_dict(yaml.safe_load(path.read_text())).to_string() == new_arch
    assert all(p.name.startswith(".") for p in folder.iterdir() if p.name not in old), "a stray non-hidden file"


@pytest.mark.slow
def test_sigkill_during_export_leaves_no_corrupted_file(tmp_path: Path) -> None:
    """nas-export killed while it writes model.onnx (in its hidden staging folder): the previous export stays whole."""
    from nas.target import load_target

    out = tmp_path / "export"
    first = run_cli("nas-export", "mobilenet_v2", "--width", "0.35", "--resolution", "96", "--out", out)
    assert first.returncode == 0, first.stderr
    old = {p.name: _digest(p) for p in out.iterdir()}
    assert set(old) == {"arch.yaml", "model.onnx", "export.json", "export.md"}
    new_arch = load_target("mobilenet_v2", width=0.5, resolution=96)[0].to_string()
    command = [script("nas-export"), "mobilenet_v2", "--width", "0.5", "--resolution", "96", "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=cli_env())
    try:
        staged = lambda: [f for d in tmp_path.glob(".export.export-*") for f in d.iterdir() if f.name.startswith(".model.")]  # noqa: E731
        _wait_for(lambda: bool(staged()), timeout=90, what="the temporary model file", process=process)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert _digest(out / "model.onnx") == old["model.onnx"], "model.onnx changed although the export was killed before its rename"
    _check_export_folder(out, old, new_arch)
    assert {p.name: _digest(p) for p in out.iterdir()} == old, "the killed export changed the published folder"
    again = run_cli("nas-export", "mobilenet_v2", "--width", "0.5", "--resolution", "96", "--out", out)
    assert again.returncode == 0, again.stderr
    _check_export_folder(out, old, new_arch)
    assert _digest(out / "model.onnx") != old["model.onnx"]
    assert list(tmp_path.glob(".export.*")) == [], "the next export did not sweep the killed one's staging folder"


def _register_test_proxies(plugin_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("nas_test_proxies", plugin_path / "nas_test_proxies.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for cls in (module.FlakyNan, module.FlakyRaise, module.FlakyMemory, module.FlakyOom):
        if cls.name not in PROXIES or PROXIES.get(cls.name).__module__ != cls.__module__:
            PROXIES.register(cls.name, cls)


@pytest.mark.parametrize(
    ("proxy", "reason"),
    [
        ("flaky_nan", "returned nan"),
        ("flaky_raise", "failed on .*: synthetic proxy failure"),
        ("flaky_memory", "ran out of memory"),
        ("flaky_oom", "failed on .*: CUDA out of memory"),
    ],
)
def test_failing_proxy_fails_its_trial_with_the_reason_and_the_search_goes_on(
    tiny_table: Path, plugin_path: Path, tmp_path: Path, proxy: str, reason: str
) -> None:
    import re

    _register_test_proxies(plugin_path)
    result = search(
        space=SPACE,
        resolution=RESOLUTION,
        device=str(tiny_table),
        proxy=proxy,
        trials=10,
        sampler="random",
        seed=2,
        out=tmp_path / proxy,
        progress=False,
    )
    study = only_study(f"sqlite:///{tmp_path / proxy / 'study.db'}")
    failed = [t for t in study.trials if t.state == TrialState.FAIL]
    assert sum(t.state == TrialState.COMPLETE for t in study.trials) == 10, "the search must go on to the requested count"
    assert failed, "a third of the candidates fail: the random sampler must have met some"
    assert all(re.search(reason, t.user_attrs["fail_reason"]) for t in failed), [t.user_attrs["fail_reason"] for t in failed]
    assert all({"arch", "latency_ms", "params", "macs"} <= set(t.user_attrs) for t in failed), (
        "a failed trial still describes its candidate"
    )
    assert result.best.state == "COMPLETE"
