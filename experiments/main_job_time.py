"""Main job time: ``nas-search --device dsp`` on the shipped defaults, as a real subprocess.

Wall time and peak RSS of the child (``resource.getrusage(RUSAGE_CHILDREN)``, the largest child,
i.e. the search process itself) for a run into a fresh temporary ``--out``; the host and its load
(``os.getloadavg()`` before/after) are written with it, since this machine is shared.
Run: taskset -c 1 python -m experiments.main_job_time   (writes experiments/results/main_job_time.md)
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from experiments.search_overhead import host
from nas.io import atomic_write_text

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    executable = shutil.which("nas-search")
    command = (
        [executable, "--device", "dsp", "--no-progress"]
        if executable
        else [sys.executable, "-m", "nas.cli.search", "--device", "dsp", "--no-progress"]
    )
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "dsp"
        start = time.perf_counter()
        done = subprocess.run([*command, "--out", str(out)], capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        load_after = os.getloadavg()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            sys.exit(f"nas-search failed (exit {done.returncode}): {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else '?'}")
        trials = sum(1 for _ in (out / "trials.csv").open()) - 1
    shown = " ".join(["nas-search" if executable else "python -m nas.cli.search", *command[1:], "--out", "TMP/dsp"])
    row = {
        "command": shown,
        "trials_csv_rows": trials,
        "wall_s": round(wall, 1),
        "user_s": round(usage.ru_utime, 1),
        "system_s": round(usage.ru_stime, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "host": host(),
        "affinity": sorted(os.sched_getaffinity(0)),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after],
    }
    lines = [
        "# Main job time: `nas-search --device dsp` on the shipped defaults",
        "",
        f"Command (real subprocess, fresh temporary --out): `{shown}`; {trials} trials in trials.csv.",
        "",
        "| wall s | user s | system s | peak RSS MiB |",
        "|---:|---:|---:|---:|",
        f"| {row['wall_s']} | {row['user_s']} | {row['system_s']} | {row['peak_rss_mib']} |",
        "",
        f"Host: {row['host']}; CPUs allowed: {row['affinity']}.",
        f"Load average (1, 5, 15 min) before {row['loadavg_before']}, after {row['loadavg_after']} (shared machine: other jobs ran at the same time).",
        "",
        "```json",
        json.dumps(row, indent=2),
        "```",
    ]
    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(RESULTS / "main_job_time.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
