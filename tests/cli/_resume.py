"""What the SIGKILL-resume tests of nas-train and nas-supernet share: kill a real run after its first checkpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch


def kill_after_first_checkpoint(module: str, command: list[str], out: Path, *, final: str) -> int:
    """Start ``python -m module *command --out out``, SIGKILL it just after it writes checkpoint.pt; its global step."""
    process = subprocess.Popen([sys.executable, "-m", module, *command, "--out", str(out)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while not (out / "checkpoint.pt").is_file() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    time.sleep(0.5)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not (out / final).exists(), "the run ended before it was killed; the test needs a longer run"
    return int(torch.load(out / "checkpoint.pt", weights_only=True)["position"]["global_step"])


def metrics_rows(folder: Path) -> list[dict[str, Any]]:
    """metrics.jsonl without its wall-clock columns, which differ between two runs of the same command."""
    strip = ("seconds", "images_per_s")
    lines = (folder / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k not in strip} for line in lines]
