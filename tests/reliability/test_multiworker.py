"""Several workers on one study: separate nas-search processes on PostgreSQL (as on several hosts), --workers N locally.

``--trials`` is the study's total: however many processes share the study, it ends
with exactly that many finished trials, each candidate recorded once.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections import Counter
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from tests.reliability.helpers import cli_env, load, only_study, run_cli, script, tiny_search_args
from tests.study.tiny import RESOLUTION

pytestmark = pytest.mark.slow


def _scored(log: Path) -> Counter[str]:
    """pid → candidates the sleepy proxy scored, without the MobileNetV2-α references each process scores at the end."""
    from nas.records import REFERENCE_WIDTHS
    from nas.space import get_space

    references = {get_space("mobilenet_v2", width=w, resolution=RESOLUTION, num_classes=10).arch().to_string() for w in REFERENCE_WIDTHS}
    pairs = [line.split(" ", 1) for line in log.read_text().splitlines()]
    return Counter(pid for pid, arch in pairs if arch not in references)


@pytest.mark.postgres
def test_three_processes_share_one_postgres_study_exactly(tiny_table: Path, plugin_path: Path, postgres_url: str, tmp_path: Path) -> None:
    """3 nas-search processes, same --storage and --study-name, --trials 12: 12 finished trials, none twice, none lost."""
    name = f"three-{os.getpid()}-{time.time_ns()}"
    barrier, log = tmp_path / "barrier", tmp_path / "scored.log"
    barrier.mkdir()
    # each process waits in its first trial until all 3 are there, so they really run side by side
    env = cli_env(plugin_path, NAS_TEST_SLEEP="0.1", NAS_TEST_BARRIER=str(barrier), NAS_TEST_BARRIER_N="3", NAS_TEST_LOG=str(log))
    commands = [
        [
            script("nas-search"),
            *tiny_search_args(
                tiny_table,
                tmp_path / f"host{i}",
                "--proxy",
                "sleepy",
                "--trials",
                12,
                "--sampler",
                "random",
                "--storage",
                postgres_url,
                "--study-name",
                name,
            ),
        ]
        for i in range(3)
    ]
    processes = [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for command in commands]
    try:
        errors = [process.communicate(timeout=240)[1] for process in processes]
        assert [process.returncode for process in processes] == [0, 0, 0], errors
        study = load(postgres_url, name)
        states = Counter(t.state for t in study.trials)
        assert states[TrialState.COMPLETE] == 12 and states[TrialState.RUNNING] == 0, states
        assert len({t.number for t in study.trials}) == len(study.trials), "duplicate trial numbers"
        workers = Counter(t.user_attrs["worker"] for t in study.trials if t.state == TrialState.COMPLETE)
        assert len(workers) == 3 and sum(workers.values()) == 12, workers
        # every candidate a worker scored is in the study once (the log also holds the MobileNetV2 references: filtered out)
        in_study = Counter(worker.rpartition(":")[2] for worker in workers.elements())
        assert _scored(log) == in_study, (_scored(log), in_study)
        archs = [t.user_attrs["arch"] for t in study.trials if t.state == TrialState.COMPLETE]
        assert len(set(archs)) > 4, "the 3 hosts drew the same candidates"
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
        if name in [s.study_name for s in optuna.get_all_study_summaries(postgres_url)]:
            optuna.delete_study(study_name=name, storage=postgres_url)
    assert name not in [s.study_name for s in optuna.get_all_study_summaries(postgres_url)]


def test_local_workers_on_a_journal_file_claim_exactly(tiny_table: Path, plugin_path: Path, tmp_path: Path) -> None:
    """--workers 2 on an Optuna journal file with a slow proxy (claims under a file lock): exactly --trials finished trials."""
    out = tmp_path / "journal"
    journal = out / "study.journal"
    result = run_cli(
        "nas-search",
        *tiny_search_args(tiny_table, out, "--proxy", "sleepy", "--trials", 8, "--workers", 2, "--storage", journal),
        env=cli_env(plugin_path, NAS_TEST_SLEEP="0.15"),
    )
    assert result.returncode == 0, result.stderr
    study = only_study(str(journal))
    assert Counter(t.state for t in study.trials) == {TrialState.COMPLETE: 8}
    assert sorted(t.number for t in study.trials) == list(range(8))
    assert len({t.user_attrs["worker"] for t in study.trials}) == 2
    assert (out / "report.md").exists()
