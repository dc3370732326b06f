"""Hostile search settings through the real ``nas-search`` (issue 27): limits, masked passwords, paths, exact counts.

Each bad input must end in one line on stderr, a non-zero exit and every file on
disk byte for byte as before; the count cases check that ``--trials N`` means N
complete + pruned trials however the processes race.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from optuna.trial import TrialState

from nas.api import search
from tests.reliability.helpers import cli_env, only_study, run_cli, script, tiny_search_args
from tests.study.tiny import RESOLUTION, SPACE

SECRET = "s3cr3tPassw0rd"
SPACE_FILE = Path(__file__).resolve().parents[2] / "search_spaces" / f"{SPACE}.yaml"


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def assert_one_line(result: subprocess.CompletedProcess[str], *, contains: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0, result.stderr
    assert len(lines) == 1 and lines[0].startswith("nas-search: error:"), result.stderr
    assert contains in lines[0], lines[0]
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def world(tiny_table: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a finished search in ``run/``."""
    root = tmp_path_factory.mktemp("search-world")
    search(space=SPACE, resolution=RESOLUTION, device=str(tiny_table), proxy="macs", trials=3, out=root / "run", progress=False)
    return root


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--seed", "-1"], "--seed must be an integer in 0 … 4294967295"),
        (["--seed", str(2**40)], "--seed must be an integer in 0 … 4294967295"),
        (["--population", "1"], "--population must be a positive integer of at least 2"),
        (["--heartbeat", "1e20"], "--heartbeat: expected a positive integer"),
        (["--heartbeat", str(10**20)], "--heartbeat must be a positive integer of at most 3600"),
        (["--workers", "1000"], "--workers must be a positive integer of at most"),
        (["--threads", "0"], "--threads: expected a positive integer"),
        (["--finalists", "-1"], "--finalists must be an integer from 0 to 1000"),
        (["--finalists", "x"], "--finalists: expected an integer"),
        (["--timeout", "inf"], "--timeout must be a positive number"),
        (["--proxy", "params"], "holds the search"),  # a different search in an existing --out
        (["--out", "WORLD/pg", "--storage", f"postgresql://nas:{SECRET}@127.0.0.1:1/nas"], "postgresql://nas:***@127.0.0.1:1/nas"),
    ],
)
def test_bad_search_settings_are_one_line_and_change_nothing(world: Path, tiny_table: Path, extra: list[str], message: str) -> None:
    before = snapshot(world)
    extra = [arg.replace("WORLD", str(world)) for arg in extra]
    result = run_cli("nas-search", *tiny_search_args(tiny_table, world / "run", "--proxy", "macs", "--trials", 3), *extra)
    assert_one_line(result, contains=message)
    assert SECRET not in result.stderr + result.stdout
    assert snapshot(world) == before


def test_the_same_settings_resume_in_an_existing_out(world: Path, tiny_table: Path) -> None:
    result = run_cli("nas-search", *tiny_search_args(tiny_table, world / "run", "--proxy", "macs", "--trials", 3))
    assert result.returncode == 0, result.stderr


def test_passwords_of_storage_urls_are_masked_in_written_files(tiny_table: Path, tmp_path: Path) -> None:
    from nas.study import SearchSettings
    from nas.study.study import mask_url

    url = f"postgresql://nas:{SECRET}@db.example:5432/nas"
    assert mask_url(url) == "postgresql://nas:***@db.example:5432/nas"
    assert SECRET not in SearchSettings(storage=url).rerun_command()
    postgres = os.environ.get("NAS_TEST_POSTGRES_URL")
    if postgres and ":" in postgres.split("://", 1)[1].split("@", 1)[0]:  # a server with a password: the whole path
        password = postgres.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
        out = tmp_path / "pg"
        result = run_cli(
            "nas-search",
            *tiny_search_args(
                tiny_table, out, "--proxy", "macs", "--trials", 2, "--storage", postgres, "--study-name", f"mask-{os.getpid()}"
            ),
        )
        assert result.returncode == 0, result.stderr
        assert password not in result.stderr + result.stdout
        assert all(password.encode() not in p.read_bytes() for p in out.rglob("*") if p.is_file())


def _space_named(folder: Path, name: str) -> Path:
    text = SPACE_FILE.read_text().replace(f"name: {SPACE}\n", f'name: "{name}"\n', 1)
    path = folder / "hostile.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", ["../../../x", "/tmp/abs-x", "evil\\u001b[31mred"])
def test_a_space_name_cannot_move_the_default_out_or_reach_the_terminal(tiny_table: Path, tmp_path: Path, name: str) -> None:
    """Such a name is refused when the space loads (nas.limits: safe names), before any folder is made.

    (``default_out`` also sanitises what it is given, for device names taken from a table file.)
    """
    work = tmp_path / "a" / "b" / "c" / "work"
    work.mkdir(parents=True)
    space = _space_named(tmp_path, name)
    outside = snapshot(tmp_path / "a")
    result = subprocess.run(
        [
            script("nas-search"),
            "--space",
            str(space),
            "--resolution",
            str(RESOLUTION),
            "--device",
            str(tiny_table),
            "--proxy",
            "macs",
            "--trials",
            "2",
        ],
        check=False,
        capture_output=True,
        text=True,
        cwd=work,
        env=cli_env(),
        timeout=180,
    )
    assert result.returncode == 2, result.stderr
    assert "\x1b" not in result.stdout + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "name" in result.stderr and "Traceback" not in result.stderr
    assert not (work / "runs").exists()
    assert snapshot(tmp_path / "a") == outside


def test_two_processes_on_one_fresh_sqlite_out_finish_exactly_the_total(tiny_table: Path, tmp_path: Path) -> None:
    out = tmp_path / "two"
    command = [script("nas-search"), *tiny_search_args(tiny_table, out, "--proxy", "macs", "--trials", 40)]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env()) for _ in range(2)]
    results = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], [err for _, err in results]
    study = only_study(f"sqlite:///{out / 'study.db'}")
    assert Counter(t.state for t in study.trials) == {TrialState.COMPLETE: 40}
    assert sorted(t.number for t in study.trials) == list(range(40))
    assert not [p.name for p in out.iterdir() if p.name.endswith(".lock")]


def test_workers_with_a_failing_proxy_finish_exactly_the_total(tiny_table: Path, plugin_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "flaky"
    result = run_cli(
        "nas-search", *tiny_search_args(tiny_table, out, "--proxy", "flaky_raise", "--trials", 30, "--workers", 2), env=cli_env(plugin_path)
    )
    assert result.returncode == 0, result.stderr
    states = Counter(t.state for t in only_study(f"sqlite:///{out / 'study.db'}").trials)
    assert states[TrialState.COMPLETE] + states[TrialState.PRUNED] == 30 and states[TrialState.FAIL] > 0, states


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_a_sigkilled_parent_takes_its_workers_with_it(tiny_table: Path, plugin_path: Path, tmp_path: Path) -> None:
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = cli_env(plugin_path, NAS_TEST_SLEEP="1.0", NAS_TEST_BARRIER=str(barrier), NAS_TEST_BARRIER_N="2")
    parent = subprocess.Popen(
        [script("nas-search"), *tiny_search_args(tiny_table, tmp_path / "kill", "--proxy", "sleepy", "--trials", 50, "--workers", 2)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 120
        while len(os.listdir(barrier)) < 2 and time.time() < deadline:
            time.sleep(0.1)
        workers = [int(name) for name in os.listdir(barrier)]
        assert len(workers) == 2 and all(pid in _children(parent.pid) for pid in workers)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        deadline = time.time() + 20
        while any(_alive(pid) for pid in workers) and time.time() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in workers)
    finally:
        for pid in _children(parent.pid) if parent.poll() is None else []:
            os.kill(pid, signal.SIGKILL)
        if parent.poll() is None:
            parent.kill()


def test_a_full_disk_while_the_study_grows_is_one_line(tiny_table: Path, tmp_path: Path) -> None:
    """A real 600 KiB tmpfs (needs mount rights: root here and in CI); SQLite then reports ``database or disk is full``."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(disk)], check=False, capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        result = run_cli("nas-search", *tiny_search_args(tiny_table, disk / "run", "--proxy", "macs", "--trials", 5000), timeout=600)
        assert_one_line(result, contains="disk is full")
    finally:
        subprocess.run(["umount", str(disk)], check=True)
