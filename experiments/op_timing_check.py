"""Does the adaptive op timing (nas.latency.timing's round rule) keep the entries while cutting profiling time?

    taskset -c 1 python -m experiments.op_timing_check --space mobiledet --ops 40

Question: ``nas-profile`` used to time each op for at least 50 runs and 0.25 s, take the median of
all runs and re-time up to three more windows when the runs spread by more than 20 % (the
*earlier* method, repeated here as the baseline). It now times rounds of 10 runs until the
estimate (the 10th percentile of all runs, nas.latency.timing) is stable. How long does each take per op, how far is
the new estimate from a long reference timed by the same rule (2 s per op), how far is it from a
second new timing of the same op, and how does it compare to the earlier median?

Method: ``--ops`` distinct ops of the space, drawn with a fixed seed, each exported once, then
timed in the order earlier, new, reference, new again (same session settings: 1 thread,
ORT_ENABLE_ALL). Also the export and session-creation time per op, and the projection to the
whole space (distinct ops × (export + new timing)). The load average before and after is recorded.
Writes experiments/results/op_timing_check_<space>.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def earlier_method(path: Path, shape: Any) -> float:
    """The timing nas-profile used before the round rule: median of kept runs, disturbed windows re-timed."""
    from nas.latency.profile import make_session, random_feed, run_times_ms, spread
    from nas.latency.timing import summarise

    session = make_session(path, provider="CPUExecutionProvider", threads=1)
    feed = random_feed(session, shape)
    run_times_ms(session, feed, 10)
    best = None
    for _ in range(4):
        times: list[float] = []
        deadline = time.perf_counter() + 0.25
        while len(times) < 2000 and (len(times) < 50 or time.perf_counter() < deadline):
            times += run_times_ms(session, feed, 10)
        entry = summarise(times)
        if best is None or spread(entry) < spread(best):
            best = entry
        if spread(best) <= 0.2:
            break
    assert best is not None
    return best.median_ms


def pct(values: list[float]) -> dict[str, float]:
    a = np.abs(np.asarray(values)) * 100
    return {"median": round(float(np.median(a)), 2), "p90": round(float(np.percentile(a, 90)), 2), "max": round(float(a.max()), 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--space", default="mobiledet")
    parser.add_argument("--ops", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from nas.latency.profile import TimingOptions, export_op, make_session, op_input_shape, space_jobs, time_model
    from nas.space import get_space

    load_before = os.getloadavg()
    space = get_space(args.space)
    ops, heads = space.ops()
    jobs = space_jobs(ops, heads, "fp32")
    sample = random.Random(args.seed).sample(jobs, min(args.ops, len(jobs)))
    new_options = TimingOptions()
    reference_options = TimingOptions(min_seconds=2.0, max_seconds=2.0, max_runs=10**7, tolerance=0.0)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for i, job in enumerate(sample):
            start = time.perf_counter()
            path = export_op(job.op, Path(scratch), precision="fp32", name=f"op{i}")
            export_s = time.perf_counter() - start
            start = time.perf_counter()
            make_session(path, provider="CPUExecutionProvider", threads=1)
            session_s = time.perf_counter() - start
            shape = op_input_shape(job.op)
            start = time.perf_counter()
            earlier = earlier_method(path, shape)
            earlier_s = time.perf_counter() - start
            start = time.perf_counter()
            new = time_model(path, shape, provider="CPUExecutionProvider", options=new_options)
            new_s = time.perf_counter() - start
            reference = time_model(path, shape, provider="CPUExecutionProvider", options=reference_options)
            again = time_model(path, shape, provider="CPUExecutionProvider", options=new_options)
            rows.append(
                {
                    "key": job.key,
                    "export_s": round(export_s, 4),
                    "session_s": round(session_s, 4),
                    "earlier_ms": earlier,
                    "earlier_s": round(earlier_s, 4),
                    "new_ms": new.median_ms,
                    "new_runs": new.runs,
                    "new_s": round(new_s, 4),
                    "reference_ms": reference.median_ms,
                    "reference_runs": reference.runs,
                    "new_again_ms": again.median_ms,
                }
            )
    n_space = len(jobs)
    export_mean = float(np.mean([r["export_s"] for r in rows]))
    result = {
        "question": "adaptive op timing: time per op and error against a long reference and the earlier method",
        "space": args.space,
        "distinct_ops_in_space": n_space,
        "sampled_ops": len(rows),
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "seconds_per_op": {
            "export_mean": round(export_mean, 4),
            "session_mean": round(float(np.mean([r["session_s"] for r in rows])), 4),
            "earlier_timing_mean": round(float(np.mean([r["earlier_s"] for r in rows])), 4),
            "new_timing_mean": round(float(np.mean([r["new_s"] for r in rows])), 4),
        },
        "projected_space_minutes": {
            "earlier": round(n_space * (export_mean + float(np.mean([r["earlier_s"] for r in rows]))) / 60, 2),
            "new": round(n_space * (export_mean + float(np.mean([r["new_s"] for r in rows]))) / 60, 2),
        },
        "error_pct": {
            "new_vs_reference": pct([r["new_ms"] / r["reference_ms"] - 1 for r in rows]),
            "new_again_vs_new": pct([r["new_again_ms"] / r["new_ms"] - 1 for r in rows]),
            "earlier_vs_reference": pct([r["earlier_ms"] / r["reference_ms"] - 1 for r in rows]),
        },
        "new_over_earlier": {
            "median": round(float(np.median([r["new_ms"] / r["earlier_ms"] for r in rows])), 4),
            "p10": round(float(np.percentile([r["new_ms"] / r["earlier_ms"] for r in rows], 10)), 4),
            "p90": round(float(np.percentile([r["new_ms"] / r["earlier_ms"] for r in rows], 90)), 4),
        },
        "rows": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"op_timing_check_{args.space}"
    out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    out.with_suffix(".md").write_text(markdown(result) + "\n")
    print(markdown(result))
    return 0


def markdown(result: dict[str, Any]) -> str:
    s, e = result["seconds_per_op"], result["error_pct"]
    return "\n".join(
        [
            f"# Op timing check: {result['sampled_ops']} of {result['distinct_ops_in_space']} distinct {result['space']} ops",
            "",
            f"Load average before {result['load_average_before']}, after {result['load_average_after']}.",
            "",
            "| per op | seconds (mean) |",
            "|---|---|",
            f"| export to ONNX | {s['export_mean']:.3f} |",
            f"| session creation | {s['session_mean']:.3f} |",
            f"| earlier timing (>= 50 runs and 0.25 s, median, re-timed windows) | {s['earlier_timing_mean']:.3f} |",
            f"| new timing (10th percentile of runs, stops when stable) | {s['new_timing_mean']:.3f} |",
            "",
            f"Projected for the whole space (distinct ops × (export + timing)): earlier {result['projected_space_minutes']['earlier']:.1f} min, "
            f"new {result['projected_space_minutes']['new']:.1f} min (the fit on whole networks comes on top).",
            "",
            "| absolute difference, % | median | p90 | max |",
            "|---|---|---|---|",
            *[
                f"| {name} | {e[key]['median']:.2f} | {e[key]['p90']:.2f} | {e[key]['max']:.2f} |"
                for key, name in (
                    ("new_vs_reference", "new vs reference (same rule, 2 s per op)"),
                    ("new_again_vs_new", "new vs new again (repeatability)"),
                    ("earlier_vs_reference", "earlier method vs reference"),
                )
            ],
            "",
            f"New estimate over the earlier median: median {result['new_over_earlier']['median']:.3f} "
            f"(p10 {result['new_over_earlier']['p10']:.3f}, p90 {result['new_over_earlier']['p90']:.3f}): the new rule "
            "reads the fastest tenth of the runs, the earlier median all of them.",
        ]
    )


if __name__ == "__main__":
    raise SystemExit(main())
