"""The bad-input harness: run a command on a bad input and check it fails cleanly and touches nothing.

A clean failure is: non-zero exit, exactly one line on stderr that starts with
``<command>: error:`` and matches the expected message, no traceback, no raw control
character (terminal escapes are shown escaped), every file under the working folder
byte-identical before and after (sha256 snapshot), no new file, and no marker file
of a code-execution attempt (a malicious pickle or YAML tag would create one).
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.reliability.helpers import cli_env, script


@dataclass(frozen=True)
class Outcome:
    code: int
    stderr: str


def snapshot(root: Path) -> dict[str, str]:
    """Relative path → sha256 (``<dir>`` for folders, ``<link>`` for links) of everything under ``root``."""
    found = {}
    for path in sorted(root.rglob("*")):
        name = str(path.relative_to(root))
        found[name] = "<link>" if path.is_symlink() else "<dir>" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def run_subprocess(command: str, argv: list[str], *, cwd: Path, timeout: float = 120) -> Outcome:
    result = subprocess.run([script(command), *argv], check=False, capture_output=True, text=True, env=cli_env(), cwd=cwd, timeout=timeout)
    return Outcome(result.returncode, result.stderr)


def check_clean_failure(
    command: str, argv: list[str], message: str, *, root: Path, markers: Path, runner: Callable[[str, list[str]], Outcome]
) -> str:
    """Run ``command argv`` through ``runner`` and assert a clean failure; returns the error line."""
    before = snapshot(root)
    outcome = runner(command, argv)
    assert outcome.code != 0, f"exit 0 for bad input; stderr: {outcome.stderr}"
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}:\n{outcome.stderr[:2000]}"
    line = lines[0]
    assert "Traceback" not in outcome.stderr and re.match(rf"{command}( [a-z]+)?: error: ", line), line
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", line), f"raw control character in {line!r}"
    assert len(line) < 1000, f"error line of {len(line)} characters"
    assert re.search(message, line), f"{message!r} not in {line!r}"
    after = snapshot(root)
    assert {name: digest for name, digest in after.items() if name in before} == before, "a file already on disk changed or vanished"
    assert sorted(set(after) - set(before)) == [], f"the failed command left new files: {sorted(set(after) - set(before))}"
    assert not any(markers.iterdir()), f"code from a data file ran: {sorted(p.name for p in markers.iterdir())}"
    return line
