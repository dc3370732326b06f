#!/usr/bin/env python3
"""Standalone latency runner for a profiling bundle: needs only onnxruntime and numpy on the device.

    python run_bundle.py BUNDLE_DIR --provider QNNExecutionProvider --out results.csv

Times every op model listed in BUNDLE_DIR/manifest.json (warm-up, then rounds of runs;
the 10th percentile of all runs as median_ms, and p90) and appends one CSV row per op. Resumable: ops already in the CSV
are skipped. Bring the CSV back and run ``nas-profile import --device DEVICE results.csv``.
This file is copied into every bundle by ``nas-profile --backend bundle``; it must not import ``nas``.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROUND_RUNS = 10  # runs per round, as nas.latency.profile.TimingOptions.round_runs


def estimate(rounds: list[list[float]]) -> tuple[float, float, float, int]:
    """The rule of nas.latency.timing, repeated (this file runs without nas): the 10th percentile of all runs.

    Returns it as the median_ms column (so it equals p10_ms), the 90th percentile and the number of runs.
    """
    runs = np.array([t for r in rounds for t in r], dtype=float)
    p10, p90 = np.percentile(runs, [10.0, 90])
    return float(p10), float(p10), float(p90), int(runs.size)


FIELDS = ["key", "median_ms", "p10_ms", "p90_ms", "runs", "provider", "runtime_version", "host"]


def session(path: Path, provider: str, threads: int, provider_options: dict) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    providers = [(provider, provider_options)] + ([] if provider == "CPUExecutionProvider" else ["CPUExecutionProvider"])
    return ort.InferenceSession(str(path), sess_options=options, providers=providers)


def time_op(sess: ort.InferenceSession, shape: list[int], *, warmup: int, runs: int, min_seconds: float) -> list[list[float]]:
    """Rounds of ``ROUND_RUNS`` back-to-back runs (ms) until both ``runs`` and ``min_seconds`` are met."""
    name = sess.get_inputs()[0].name
    feed = {name: np.random.default_rng(0).standard_normal(shape).astype(np.float32)}
    for _ in range(warmup):
        sess.run(None, feed)
    rounds: list[list[float]] = []
    deadline = time.perf_counter() + min_seconds
    while sum(len(r) for r in rounds) < runs or time.perf_counter() < deadline:
        chunk = []
        for _ in range(ROUND_RUNS):
            start = time.perf_counter()
            sess.run(None, feed)
            chunk.append((time.perf_counter() - start) * 1e3)
        rounds.append(chunk)
    return rounds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run_bundle.py", description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path, nargs="?", default=Path(__file__).resolve().parent)
    parser.add_argument("--provider", default="CPUExecutionProvider", help=f"available here: {', '.join(ort.get_available_providers())}")
    parser.add_argument("--provider-option", action="append", default=[], metavar="KEY=VALUE", help="e.g. backend_path=libQnnHtp.so")
    parser.add_argument("--out", type=Path, default=Path("results.csv"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--min-seconds", type=float, default=0.25)
    args = parser.parse_args(argv)
    manifest = json.loads((args.bundle / "manifest.json").read_text())
    if args.provider not in ort.get_available_providers():
        print(f"run_bundle.py: provider {args.provider} not available (have: {', '.join(ort.get_available_providers())})", file=sys.stderr)
        return 2
    provider_options = dict(item.split("=", 1) for item in args.provider_option)
    done = set()
    if args.out.exists():
        with args.out.open(newline="") as handle:
            done = {row["key"] for row in csv.DictReader(handle)}
    new_file = not args.out.exists()
    host = f"{platform.machine()} {platform.platform()}"
    todo = [op for op in manifest["ops"] if op["key"] not in done]
    with args.out.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        if new_file:
            writer.writeheader()
        for index, op in enumerate(todo, 1):
            sess = session(args.bundle / op["file"], args.provider, args.threads, provider_options)
            median, p10, p90, runs = estimate(
                time_op(sess, op["input_shape"], warmup=args.warmup, runs=args.runs, min_seconds=args.min_seconds)
            )
            writer.writerow(
                {
                    "key": op["key"],
                    "median_ms": f"{median:.6f}",
                    "p10_ms": f"{p10:.6f}",
                    "p90_ms": f"{p90:.6f}",
                    "runs": runs,
                    "provider": args.provider,
                    "runtime_version": ort.__version__,
                    "host": host,
                }
            )
            handle.flush()
            print(f"[{index}/{len(todo)}] {op['key']}: {median:.4f} ms", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
