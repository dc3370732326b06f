"""Lines of Python per package at given commits, as committed and in ruff's format (issue 30's before/after table).

    python -m experiments.line_counts 9d171b5 b711065 HEAD        # writes experiments/results/line_counts.md

Question: how did the size of each package of ``nas/`` (and of ``experiments/`` and ``tests/``)
change over a stretch of history? Method: every ``.py`` file of each commit is read from git
(``git archive``, nothing checked out); lines are counted as committed and again after
``ruff format`` with this checkout's settings (pyproject.toml), so that commits from before and
after the tree was formatted (cc2a8af) can be compared like for like. The table goes to
experiments/results/line_counts.md (and stdout); experiments/README.md quotes it.
"""

from __future__ import annotations

import argparse
import subprocess
import tarfile
import tempfile
from collections import Counter
from pathlib import Path

from nas.io import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results"


def package(path: str) -> str | None:
    """The row a file counts in: a subpackage of nas/ (backends apart), nas/'s own modules, experiments/, tests/."""
    parts = path.split("/")
    if parts[0] == "nas":
        if len(parts) == 2:
            return "nas/ (its own modules)"
        if parts[1:3] == ["latency", "backends"] and len(parts) > 3:
            return "nas/latency/backends/"
        return f"nas/{parts[1]}/"
    if parts[0] == "experiments":
        return "experiments/_lib/" if parts[1] == "_lib" and len(parts) > 2 else "experiments/ (scripts)"
    return "tests/" if parts[0] == "tests" else None


def count(folder: Path) -> Counter[str]:
    lines: Counter[str] = Counter()
    for path in folder.rglob("*.py"):
        row = package(path.relative_to(folder).as_posix())
        if row:
            lines[row] += path.read_bytes().count(b"\n")
    return lines


def counts(commit: str) -> tuple[Counter[str], Counter[str]]:
    """(as committed, after ruff format) for one commit."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", commit, "nas", "experiments", "tests"], capture_output=True, check=True
        )
        archive_path = Path(tmp) / "tree.tar"
        archive_path.write_bytes(archive.stdout)
        tree = Path(tmp) / "tree"
        with tarfile.open(archive_path) as tar:
            tar.extractall(tree, filter="data")
        committed = count(tree)
        subprocess.run(["ruff", "format", "--config", str(ROOT / "pyproject.toml"), "--quiet", str(tree)], check=True)
        return committed, count(tree)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("commits", nargs="+", help="commits to count, oldest first")
    args = parser.parse_args()
    results = {commit: counts(commit) for commit in args.commits}
    rows = sorted({row for pair in results.values() for c in pair for row in c}, key=lambda r: (not r.startswith("nas"), r))
    header = " | ".join(f"{c} committed | {c} formatted" for c in args.commits)
    lines = [
        f"Lines of `.py` per package (`python -m experiments.line_counts {' '.join(args.commits)}`), as committed and after `ruff format`.",
        "",
        f"| package | {header} |",
        "|---|" + "---:|" * (2 * len(args.commits)),
    ]
    for row in [*rows, "nas/ total"]:
        cells = []
        for committed, formatted in results.values():
            if row == "nas/ total":
                cells += [sum(v for k, v in c.items() if k.startswith("nas")) for c in (committed, formatted)]
            else:
                cells += [committed[row], formatted[row]]
        lines.append(f"| {row} | " + " | ".join(f"{v:,}" for v in cells) + " |")
    atomic_write_text(RESULTS / "line_counts.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
