"""experiments/line_counts: rows per package, and counts read from git before and after ruff format."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from experiments.line_counts import ROOT, counts, package


def test_each_file_counts_in_its_package() -> None:
    assert package("nas/arch.py") == "nas/ (its own modules)"
    assert package("nas/latency/table.py") == "nas/latency/"
    assert package("nas/latency/backends/ort.py") == "nas/latency/backends/"
    assert package("experiments/_lib/data.py") == "experiments/_lib/"
    assert package("experiments/counting.py") == "experiments/ (scripts)"
    assert package("tests/blocks/test_hand_built_specs.py") == "tests/"
    assert package("setup.py") is None


@pytest.mark.skipif(shutil.which("ruff") is None, reason="needs ruff")
def test_a_formatted_commit_counts_the_same_formatted() -> None:
    """The tree is kept in ruff's format (CI checks it), so formatting HEAD adds no line; the count is git's."""
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True).returncode:
        pytest.skip("not a git checkout")
    committed, formatted = counts("HEAD")
    assert committed == formatted
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-tree", "-r", "--name-only", "HEAD", "nas/blocks"], capture_output=True, text=True, check=True
    )
    expected = sum(
        subprocess.run(["git", "-C", str(ROOT), "show", f"HEAD:{path}"], capture_output=True, check=True).stdout.count(b"\n")
        for path in listed.stdout.split()
    )
    assert committed["nas/blocks/"] == expected > 0
