"""Real searches on a measured tiny table: resume, failed trials, stale trials, targets, storages."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import optuna
import pytest

from nas.api import search
from nas.errors import NasError
from nas.proxies import PROXIES, Proxy
from nas.study import SearchContext, records
from nas.study.runner import prepare_study

TINY = {"space": "nas_bench_macro", "resolution": 16, "proxy": "macs", "progress": False}


def _study(result: Any) -> optuna.Study:
    from nas.study.study import open_storage

    return optuna.load_study(study_name=result.study_name, storage=open_storage(result.storage))


def test_resume_adds_trials_and_keeps_the_first_ones(tiny_table: Path, tmp_path: Path) -> None:
    first = search(**TINY, device=str(tiny_table), trials=10, out=tmp_path / "run")
    before = [(t.number, t.params, t.values, t.user_attrs["arch"]) for t in _study(first).trials]
    assert len(before) == 10 and (tmp_path / "run" / "study.db").exists()
    second = search(**TINY, device=str(tiny_table), trials=20, out=tmp_path / "run")
    trials = _study(second).trials
    assert second.study_name == first.study_name
    assert len(trials) == 20 and all(t.state.name == "COMPLETE" for t in trials)
    assert [(t.number, t.params, t.values, t.user_attrs["arch"]) for t in trials[:10]] == before
    # each trial describes its candidate completely
    attrs = trials[15].user_attrs
    assert {"arch", "yaml", "latency_ms", "params", "macs", "proxy"} <= set(attrs)
    assert attrs["proxy"][0] == attrs["macs"] == trials[15].values[0]
    for name in ("trials.csv", "pareto.csv", "pareto.png", "report.md", "best/arch.yaml", "best/model.onnx"):
        assert (tmp_path / "run" / name).stat().st_size > 0, name
    assert len((tmp_path / "run" / "trials.csv").read_text().splitlines()) == 21


def test_same_seed_same_trials(tiny_table: Path, tmp_path: Path) -> None:
    runs = [
        search(**TINY, device=str(tiny_table), trials=8, seed=3, sampler=sampler, out=tmp_path / f"{sampler}{i}")
        for sampler in ("random", "tpe")
        for i in range(2)
    ]
    arch = [[t.user_attrs["arch"] for t in _study(r).trials] for r in runs]
    assert arch[0] == arch[1] and arch[2] == arch[3]
    assert len(set(arch[0])) > 1


class FlakyProxy(Proxy):
    """Fails on every architecture with a skip in its first stage (a real, deterministic subset)."""

    name = "flaky"

    def score(self, arch: Any, *, seed: int = 0, data: Any = None, report: Any = None) -> float:
        if arch.blocks[1].type == "skip":
            return float("nan")
        return float(sum(block.out for block in arch.blocks))


def test_failing_proxy_fails_the_trial_with_its_reason_and_the_search_goes_on(tiny_table: Path, tmp_path: Path) -> None:
    PROXIES.register("flaky", FlakyProxy)
    result = search(**{**TINY, "proxy": "flaky"}, device=str(tiny_table), trials=15, sampler="random", out=tmp_path / "flaky")
    failed = [r for r in result.rows if r.state == "FAIL"]
    complete = [r for r in result.rows if r.complete]
    assert len(complete) == 15 and failed, "the random sampler should hit skips in 15+ trials"
    assert all("returned nan" in r.fail_reason for r in failed)
    assert "Failed trials" in (tmp_path / "flaky" / "report.md").read_text()


def test_stale_running_trial_of_a_dead_process_is_failed_on_resume(tiny_table: Path, tmp_path: Path) -> None:
    result = search(**TINY, device=str(tiny_table), trials=3, out=tmp_path / "stale")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    study = _study(result)
    trial = study.ask()
    study._storage.set_trial_user_attr(trial._trial_id, "worker", f"{socket.gethostname()}:{dead}")
    alive = study.ask()
    study._storage.set_trial_user_attr(alive._trial_id, "worker", f"{socket.gethostname()}:{os.getpid()}")
    context = SearchContext.create(
        **{k: v for k, v in TINY.items() if k != "progress"}, device=str(tiny_table), trials=3, out=tmp_path / "stale"
    )
    prepare_study(context)
    states = {t.number: t.state.name for t in _study(result).trials}
    assert states[trial.number] == "FAIL" and states[alive.number] == "RUNNING"
    assert "ended while the trial ran" in _study(result).trials[trial.number].user_attrs["fail_reason"]


def test_latency_target_is_met_and_compared_with_references(tiny_table: Path, tmp_path: Path) -> None:
    probe = search(**TINY, device=str(tiny_table), trials=12, out=tmp_path / "probe")
    latencies = sorted(r.latency_ms for r in probe.rows)
    target = latencies[len(latencies) // 2]
    result = search(**TINY, device=str(tiny_table), trials=12, latency_target_ms=target, out=tmp_path / "target")
    assert result.best.latency_ms <= target and result.fits
    assert result.budget_ms == target
    report = (tmp_path / "target" / "report.md").read_text()
    assert ("beats every MobileNetV2" in report) or ("does not beat" in report) or ("No MobileNetV2" in report)
    assert _study(result).user_attrs["settings"]["objective"] == "constrained"
    trials = _study(result).trials
    assert all(r.complete for r in records(_study(result)))
    assert all(t.user_attrs["constraint"] == [pytest.approx(t.user_attrs["latency_ms"] - target)] for t in trials)
    assert all(any(key.endswith(":latency") for key in t.system_attrs) for t in trials)  # what Optuna's samplers read


def test_other_settings_on_the_same_study_name_are_refused(tiny_table: Path, tmp_path: Path) -> None:
    search(**TINY, device=str(tiny_table), trials=2, out=tmp_path / "s", study_name="mine")
    with pytest.raises(NasError, match="other settings.*proxy"):
        search(**{**TINY, "proxy": "params"}, device=str(tiny_table), trials=2, out=tmp_path / "s", study_name="mine")


def test_sqlite_storage_url_works(tiny_table: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    result = search(**TINY, device=str(tiny_table), trials=4, storage=url, out=tmp_path / "sql")
    assert len(optuna.load_study(study_name=result.study_name, storage=url).trials) == 4


def test_workers_share_one_study_without_duplicates(tiny_table: Path, tmp_path: Path) -> None:
    result = search(**TINY, device=str(tiny_table), trials=12, workers=2, out=tmp_path / "w")
    trials = _study(result).trials
    assert len(trials) == 12 and all(t.state.name == "COMPLETE" for t in trials)
    assert len({t.user_attrs["worker"] for t in trials}) == 2
    assert sorted(t.number for t in trials) == list(range(12))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"sampler": "grid"}, "unknown sampler 'grid'"),
        ({"sampler": "tpe", "population": 10}, "--population applies to the nsga2 sampler"),
        ({"population": 0}, "--population must be a positive integer"),
        ({"trials": 0}, "--trials must be a positive integer"),
        ({"objective": "tunas"}, "needs --latency-target"),
        ({"storage": "redis://x"}, "expected a journal file"),
        ({"proxy": "nope"}, "unknown proxy 'nope'"),
        ({"space": "nope"}, "nope"),
        ({"space": "mobilenet_v2"}, "no choices to search"),
        ({"resolution": 24}, "no entry for"),
    ],
)
def test_invalid_settings_fail_before_any_trial(tiny_table: Path, tmp_path: Path, options: dict[str, Any], message: str) -> None:
    with pytest.raises(NasError, match=message):
        search(**{**TINY, "trials": 2, **options}, device=str(tiny_table), out=tmp_path / "bad")
    assert not (tmp_path / "bad" / "study.db").exists()


class SlowProxy(Proxy):
    """Takes 60 ms (≥ the record-at-start threshold) and looks at the study while it runs."""

    name = "slow"
    journal: str | None = None  # the study's storage URL
    running_seen: list[int] = []

    def score(self, arch: Any, *, seed: int = 0, data: Any = None, report: Any = None) -> float:
        import time

        from nas.study.study import open_storage

        time.sleep(0.06)
        study = optuna.load_study(study_name="slow", storage=open_storage(str(self.journal)))
        SlowProxy.running_seen.append(len(study.get_trials(states=(optuna.trial.TrialState.RUNNING,))))
        return float(arch.blocks[0].out)


def test_slow_proxies_are_recorded_as_running_while_they_run(tiny_table: Path, tmp_path: Path) -> None:
    PROXIES.register("slow", SlowProxy)
    SlowProxy.journal, SlowProxy.running_seen = f"sqlite:///{tmp_path / 'slow' / 'study.db'}", []
    result = search(**{**TINY, "proxy": "slow"}, device=str(tiny_table), trials=3, study_name="slow", out=tmp_path / "slow")
    # 3 trials + 4 MobileNetV2 references scored after the search (no trial running then)
    assert SlowProxy.running_seen[:3] == [1, 1, 1] and SlowProxy.running_seen[3:] == [0, 0, 0, 0]
    assert all(t.state.name == "COMPLETE" for t in _study(result).trials)


def test_default_population_gives_about_ten_generations() -> None:
    from nas.study.study import default_population

    assert [default_population(n) for n in (20, 200, 1000, 5000)] == [10, 20, 50, 50]


@pytest.mark.parametrize(("population", "generations"), [(4, 3), (6, 2)])
def test_nsga2_population_sets_the_generation_size(tiny_table: Path, tmp_path: Path, population: int, generations: int) -> None:
    result = search(**TINY, device=str(tiny_table), trials=12, population=population, out=tmp_path / f"p{population}")
    seen = [t.system_attrs.get("NSGAIISampler:generation") for t in _study(result).trials]
    assert seen == [g for g in range(generations) for _ in range(population)]
    assert f"--population {population}" in (tmp_path / f"p{population}" / "report.md").read_text()


def test_tpe_is_multivariate_and_quiet() -> None:
    """The framework's TPE samples parameters jointly (measured better: nas.study.study.TPE_OPTIONS) without warning."""
    import warnings

    from nas.study.study import TPE_OPTIONS, make_sampler

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sampler = make_sampler("tpe", seed=0)
    assert TPE_OPTIONS == {"multivariate": True, "group": True}
    assert sampler._multivariate and sampler._group  # private attributes of Optuna's TPESampler; a rename fails here
