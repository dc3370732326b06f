"""Bad input through the real CLIs: one line on stderr naming the file/key/allowed values, exit 2, no traceback, nothing lost.

Every case runs against a folder that already holds a finished search (``run/``:
study.db, CSVs, report, exported best) and latency tables; after each case every
file there must be byte for byte the same and no new file may appear. Most cases
call the command's ``main(argv)`` in this process (the same code as the console
script, minus the interpreter start); the ``subprocess`` ones run the installed
console script.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path
from typing import Any, Callable

import pytest

from nas.api import search
from tests.reliability.helpers import run_cli
from tests.study.tiny import RESOLUTION, SPACE

STUDY = "mine"
DOWN = "postgresql://postgres@127.0.0.1:1/nas"  # nothing listens on port 1


@pytest.fixture(scope="module")
def world(tiny_table: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("world")
    text = tiny_table.read_text()
    (root / "tiny.yaml").write_text(text)
    (root / "newer.yaml").write_text(text.replace("version: 1\n", "version: 99\n", 1))
    (root / "corrupt.yaml").write_text(text[: len(text) // 2])  # a half-written table
    (root / "bad.yaml").write_text("name: broken\nstages: [\n  {out: 24\n")
    (root / "badblock.yaml").write_text(
        "name: badblock\nresolution: 32\nnum_classes: 10\nstem: {type: conv, out: 16, kernel: 3, stride: 1}\nhead: {out: 256}\n"
        "stages:\n  - {out: 24, stride: 2, layers: 1, block: {type: [wavelet, ibn], kernel: [3]}}\n"
    )
    (root / "badref.yaml").write_text(
        "name: badref\nresolution: 32\nnum_classes: 10\nreference: mobilenet_v9\nstem: {type: conv, out: 16, kernel: 3, stride: 1}\n"
        "head: {out: 256}\nstages:\n  - {out: 24, stride: 2, layers: 1, block: {type: [ibn, fused_ibn], kernel: [3]}}\n"
    )
    (root / "badarch.yaml").write_text("name: x\nresolution: 32\nblocks:\n  - {type: ibn, out: 16\n")
    (root / "afile").write_text("a file where a folder is expected\n")
    search(
        space=SPACE,
        resolution=RESOLUTION,
        device=str(root / "tiny.yaml"),
        proxy="macs",
        trials=3,
        study_name=STUDY,
        out=root / "run",
        progress=False,
    )
    return root


def _snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "<dir>" for p in sorted(root.rglob("*"))
    }


SEARCH = [
    "--space",
    SPACE,
    "--resolution",
    str(RESOLUTION),
    "--device",
    "{w}/tiny.yaml",
    "--proxy",
    "macs",
    "--trials",
    "2",
    "--out",
    "{w}/run",
    "--study-name",
    STUDY,
    "--no-progress",
]
OUT = ["--out", "{w}/export-out"]
DB = "sqlite:///{w}/run/study.db"

# (id, command, arguments, expected message regex, run as a subprocess)
CASES: list[tuple[str, str, list[str], str, bool]] = [
    ("malformed-space-yaml", "nas-search", [*SEARCH, "--space", "{w}/bad.yaml"], r"bad\.yaml: malformed YAML at line \d+", False),
    ("unknown-space", "nas-search", [*SEARCH, "--space", "nope"], r"unknown search space 'nope' \(known: .*mobiledet", False),
    (
        "unknown-reference",
        "nas-search",
        [*SEARCH, "--space", "{w}/badref.yaml"],
        r"badref\.yaml: reference: unknown search space 'mobilenet_v9' \(known: ",
        False,
    ),
    (
        "unknown-block",
        "nas-search",
        [*SEARCH, "--space", "{w}/badblock.yaml"],
        r"badblock\.yaml: stages\[0\]\.block\.type: unknown block type 'wavelet' \(known: .*ibn",
        False,
    ),
    ("unknown-device", "nas-search", [*SEARCH, "--device", "nope"], r"unknown device 'nope' \(known: .*cpu", False),
    ("unknown-proxy", "nas-search", [*SEARCH, "--proxy", "nope"], r"unknown proxy 'nope' \(known: .*macs", False),
    (
        "table-other-resolution",
        "nas-search",
        [*SEARCH, "--resolution", "24"],
        r"tiny\.yaml: no entry for 20 of the 20 ops .*resolution 24.*nas-profile",
        False,
    ),
    (
        "table-other-space",
        "nas-search",
        [*SEARCH, "--space", "proxylessnas"],
        r"tiny\.yaml: no entry for \d+ of the \d+ ops of space 'proxylessnas'",
        False,
    ),
    (
        "table-newer-version",
        "nas-search",
        [*SEARCH, "--device", "{w}/newer.yaml"],
        r"newer\.yaml: table format version 99 is newer than this program reads",
        False,
    ),
    ("table-corrupted", "nas-search", [*SEARCH, "--device", "{w}/corrupt.yaml"], r"corrupt\.yaml: corrupted latency table", True),
    (
        "table-option-missing-file",
        "nas-search",
        [*SEARCH, "--device", "cpu", "--table", "{w}/missing.yaml"],
        r"missing\.yaml: cannot read latency table",
        False,
    ),
    (
        "unwritable-out",
        "nas-search",
        [*SEARCH, "--out", "{w}/afile/sub"],
        r"afile/sub/study\.db: cannot create its folder: Not a directory",
        False,
    ),
    (
        "invalid-storage-url",
        "nas-search",
        [*SEARCH, "--storage", "redis://localhost/0"],
        r"--storage 'redis://localhost/0': expected a journal file",
        False,
    ),
    ("postgres-down", "nas-search", [*SEARCH, "--storage", DOWN], r"--storage postgresql://\S+: cannot open: .*(refused|failed)", True),
    ("negative-trials", "nas-search", [*SEARCH, "--trials", "-3"], r"argument --trials: expected a positive integer, got '-3'", True),
    ("bad-objective", "nas-search", [*SEARCH, "--objective", "best"], r"invalid choice: 'best' \(choose from .*pareto", False),
    (
        "zero-latency-target",
        "nas-search",
        [*SEARCH, "--latency-target", "0"],
        r"--latency-target: expected a positive number, got '0'",
        False,
    ),
    (
        "negative-latency-target",
        "nas-search",
        [*SEARCH, "--latency-target", "-5"],
        r"--latency-target: expected a positive number, got '-5'",
        False,
    ),
    ("tunas-without-target", "nas-search", [*SEARCH, "--objective", "tunas"], r"objective 'tunas' needs --latency-target MS", False),
    ("unknown-sampler", "nas-search", [*SEARCH, "--sampler", "grid"], r"invalid choice: 'grid' \(choose from .*nsga2", False),
    ("zero-workers", "nas-search", [*SEARCH, "--workers", "0"], r"argument --workers: expected a positive integer, got '0'", False),
    (
        "beta-for-pareto",
        "nas-search",
        [*SEARCH, "--beta", "0.1"],
        r"--beta applies to the tunas and mnas objectives, not to 'pareto'",
        False,
    ),
    (
        "study-with-other-settings",
        "nas-search",
        [*SEARCH, "--proxy", "params"],
        r"study 'mine' was made with other settings \(proxy: study 'macs' vs now 'params'\)",
        False,
    ),
    ("unknown-data-kind", "nas-search", [*SEARCH, "--data", "nope:x"], r"--data 'nope:x': unknown kind 'nope' \(known: synthetic", False),
    ("fixed-space", "nas-search", [*SEARCH, "--space", "mobilenet_v2"], r"space 'mobilenet_v2' has no choices to search", False),
    (
        "export-unknown-target",
        "nas-export",
        ["nope", *OUT],
        r"'nope': not a space name \(.*mobiledet.*\), an existing YAML file, or an arch string",
        True,
    ),
    (
        "export-unknown-format",
        "nas-export",
        ["mobilenet_v2", "--format", "bogus", *OUT],
        r"--format: unknown format 'bogus' \(allowed: yaml, onnx, int8, torchscript",
        False,
    ),
    (
        "export-missing-storage-file",
        "nas-export",
        ["--storage", "sqlite:///{w}/missing.db", *OUT],
        r"--storage \S+missing\.db: no such file",
        False,
    ),
    (
        "export-unknown-study",
        "nas-export",
        ["--storage", DB, "--study-name", "nope", *OUT],
        r"no study 'nope' in \S+ \(studies: mine\)",
        False,
    ),
    (
        "export-unknown-trial",
        "nas-export",
        ["--storage", DB, "--trial", "999", *OUT],
        r"study 'mine' has no trial 999 \(trials 0\.\.2\)",
        False,
    ),
    (
        "export-bad-trial",
        "nas-export",
        ["--storage", DB, "--trial", "abc", *OUT],
        r"--trial must be best, pareto or a trial number, got 'abc'",
        False,
    ),
    ("export-malformed-arch-yaml", "nas-export", ["{w}/badarch.yaml", *OUT], r"badarch\.yaml: malformed YAML at line \d+", False),
    (
        "export-unwritable-out",
        "nas-export",
        ["mobilenet_v2", "--format", "yaml", "--out", "{w}/afile/sub"],
        r"afile/sub: cannot create the output folder: Not a directory",
        False,
    ),
    ("export-postgres-down", "nas-export", ["--storage", DOWN, *OUT], r"--storage postgresql://\S+: cannot open", False),
    ("profile-unknown-device", "nas-profile", ["--device", "nope", "--space", SPACE], r"unknown device 'nope' \(known: .*cpu", False),
    (
        "profile-unknown-space",
        "nas-profile",
        ["--device", "cpu", "--space", "nope", "--table", "{w}/new.yaml"],
        r"unknown search space 'nope' \(known: ",
        False,
    ),
    (
        "profile-corrupted-table",
        "nas-profile",
        ["--device", "cpu", "--space", SPACE, "--resolution", "16", "--table", "{w}/corrupt.yaml"],
        r"corrupt\.yaml: corrupted latency table",
        True,
    ),
    (
        "profile-newer-table",
        "nas-profile",
        ["--device", "cpu", "--space", SPACE, "--resolution", "16", "--table", "{w}/newer.yaml"],
        r"newer\.yaml: table format version 99 is newer",
        False,
    ),
    (
        "profile-unknown-block",
        "nas-profile",
        ["--device", "cpu", "--space", "{w}/badblock.yaml", "--table", "{w}/new.yaml"],
        r"unknown block type 'wavelet'",
        False,
    ),
    (
        "profile-zero-runs",
        "nas-profile",
        ["--device", "cpu", "--space", SPACE, "--min-runs", "0"],
        r"argument --min-runs: expected a positive integer",
        False,
    ),
    (
        "inspect-unknown-block",
        "nas-inspect",
        ["r16_n10,bogus_k3_s1_c16_relu,head_none"],
        r"unknown block type 'bogus' \(known: .*ibn",
        False,
    ),
    ("inspect-malformed-yaml", "nas-inspect", ["{w}/badarch.yaml"], r"badarch\.yaml: malformed YAML", False),
    ("inspect-unknown-device", "nas-inspect", ["mobilenet_v2", "--device", "nope"], r"unknown device 'nope' \(known: ", False),
    ("inspect-unknown-proxy", "nas-inspect", ["mobilenet_v2", "--proxy", "nope"], r"unknown proxy 'nope' \(known: ", False),
]


def _main(command: str) -> Callable[[list[str]], int]:
    from nas.cli import export, inspect, profile, search as search_cli

    return {"nas-search": search_cli.main, "nas-export": export.main, "nas-profile": profile.main, "nas-inspect": inspect.main}[command]


def _in_process(command: str, argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    try:
        code = _main(command)(argv)
    except SystemExit as exit_:  # argparse errors
        code = int(exit_.code or 0)
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("command", "arguments", "message", "as_subprocess"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_bad_input_is_one_line_exit_2_and_loses_nothing(
    world: Path, capsys: pytest.CaptureFixture[str], command: str, arguments: list[str], message: str, as_subprocess: bool
) -> None:
    argv = [argument.replace("{w}", str(world)) for argument in arguments]
    before = _snapshot(world)
    if as_subprocess:
        result: Any = run_cli(command, *argv)
        code, stderr = result.returncode, result.stderr
    else:
        code, stderr = _in_process(command, argv, capsys)
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{command}: error: ") and "Traceback" not in stderr, stderr
    assert re.search(message, lines[0]), lines[0]
    after = _snapshot(world)
    assert {name: digest for name, digest in after.items() if name in before} == before, "a file already on disk changed or vanished"
    assert sorted(set(after) - set(before)) == [], "a failed command left new files"
    shutil.rmtree(world / "export-out", ignore_errors=True)


def test_there_are_at_least_twenty_cases_over_every_command() -> None:
    assert len(CASES) >= 20 and {case[1] for case in CASES} == {"nas-search", "nas-export", "nas-profile", "nas-inspect"}
