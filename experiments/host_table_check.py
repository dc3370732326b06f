"""Does the one command measure this host well enough, and how wrong is the shipped table here?

    python -m experiments.host_table_check --space proxylessnas --samples 24

Question: on this host, how long does ``nas-profile --device cpu --space S`` take (ops, then the
context correction and held-out check it fits in the same run), and how well does the table it
writes predict random networks of S that neither the fit nor its own check saw? Beside it: the
shipped ``cpu`` table's error on the same networks, and whether this host is the one that measured
the shipped table (fingerprints and errors compared).

Method: the command runs in a subprocess under ``/usr/bin/time -v`` and ``taskset -c CORE`` with a
fresh ``--store`` (wall time and peak memory). Then ``--samples`` random networks (seeds 0..N-1;
the command's own networks use seeds 100000+ and 200000+) are exported whole and timed end to end
on the same core (this whole process is pinned to it, torch on one thread), round-robin
(``--rounds`` × ``--runs`` runs each), twice, by the same rule as the table's ops
(``nas.latency.timing``: the 10th percentile of all runs): the second pass gives the
measurement's own repeatability (pass-to-pass difference), and each network's p10-p90 of its
runs is its run-to-run spread. Predictions of the new and of the shipped table are scored against
the first pass (share within ±10 %, MAPE, bias, Spearman) and the repeat pass is scored the same
way as if it were a prediction, which is the floor any table can reach on this machine right now.
The host is shared with other jobs; the load average before and after is recorded.

Writes experiments/results/host_table_check_<space>[_<tag>].{json,md} and the table the command wrote
(``…_table.yaml``), atomically.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def run_command(space: str, store: Path, core: int) -> dict[str, Any]:
    """The one command, timed by /usr/bin/time -v on one core; its output kept for the figures it prints."""
    command = ["taskset", "-c", str(core), sys.executable, "-m", "nas.cli.profile", "--device", "cpu", "--space", space]
    command += ["--store", str(store)]
    timed = ["/usr/bin/time", "-v", *command] if Path("/usr/bin/time").exists() else command
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
    start = time.perf_counter()
    done = subprocess.run(timed, capture_output=True, text=True, env=env, timeout=3600)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"nas-profile failed ({done.returncode}): {done.stderr[-2000:]}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    elapsed = re.search(r"Elapsed \(wall clock\) time.*: ([\d:.]+)", done.stderr)
    return {
        "command": " ".join(command[3:]).replace(sys.executable + " -m nas.cli.profile", "nas-profile"),
        "pinned": f"taskset -c {core}",
        "wall_s": round(wall, 1),
        "time_elapsed": elapsed.group(1) if elapsed else None,
        "max_rss_mb": round(int(rss.group(1)) / 1024, 1) if rss else None,
        "stdout": [line for line in done.stdout.splitlines() if line.strip()],
    }


def score(predicted: list[float], measured: list[float]) -> dict[str, float]:
    from nas.latency.validate import fidelity

    return fidelity(predicted, measured)


def method_variants(table: Any, archs: list[Any], truth: list[float], own: dict[str, Any], own_ms: dict[str, float]) -> dict[str, Any]:
    """The context correction refitted on the command's networks as re-timed in this check's first pass, scored on the 24.

    Fitting and scoring networks timed in the same interleaved rounds leaves no drift between them: what is left is the
    method's error. Variants: the command's 6 calibration networks or all 14 (its 8 held-out too); factors pulled
    towards 1 (the command's rule) or towards one common factor.
    """
    from nas.latency.host_fit import HELD_OUT_SEED
    from nas.latency.table import LatencyTable
    from nas.latency.validate import class_sums, fit_correction, layer_count

    overhead = float((table.correction or {}).get("overhead_ms", 0.0))
    calibration = [seed for seed in own if int(seed) < HELD_OUT_SEED]
    out = {}
    for name, seeds in (("6 calibration", calibration), ("14 (calibration + held-out)", list(own))):
        for towards_common in (False, True):
            fit = fit_correction(
                [class_sums(table, own[s]) for s in seeds],
                [layer_count(own[s]) for s in seeds],
                [own_ms[s] for s in seeds],
                overhead_ms=overhead,
                towards_common=towards_common,
            )
            refitted = LatencyTable(header={**table.header, "correction": fit}, entries=table.entries)
            key = f"{name}, towards {'common' if towards_common else '1'}"
            out[key] = {**score([refitted.latency(a) for a in archs], truth), "type_scale": fit["type_scale"]}
    return out


def residual_analysis(table: Any, archs: list[Any], truth: list[float], predicted: list[float]) -> dict[str, Any]:
    """What the networks the table misses by more than 10 % share: each op class's share of the raw sum, kernel 5, size.

    ``correlation``: Pearson r between each network's error and each class's share (over all networks).
    """
    from nas.latency.validate import class_sums

    rows = []
    for arch, measured, p in zip(archs, truth, predicted):
        sums = class_sums(table, arch)
        total = sum(sums.values())
        rows.append(
            {
                "name": arch.name,
                "error_pct": round(100 * (p / measured - 1), 2),
                "measured_ms": round(measured, 3),
                "share_pct": {k: round(100 * v / total, 1) for k, v in sorted(sums.items())},
                "blocks": len(arch.blocks),
                "kernel5": sum(getattr(b, "kernel", None) == 5 for b in arch.blocks),
            }
        )
    errors = np.array([r["error_pct"] for r in rows])
    classes = sorted({k for r in rows for k in r["share_pct"]})
    correlation = {}
    for k in classes + ["kernel5", "measured_ms"]:
        values = np.array([r["share_pct"].get(k, 0.0) if k in classes else r[k] for r in rows], float)
        if values.std() > 0 and errors.std() > 0:
            correlation[k] = round(float(np.corrcoef(values, errors)[0, 1]), 3)
    return {
        "prediction": "new table x drift ratio",
        "correlation_with_error": correlation,
        "missed": [r for r in rows if abs(r["error_pct"]) > 10],
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--space", default="proxylessnas")
    parser.add_argument("--samples", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--core", type=int, default=1)
    parser.add_argument("--tag", default="", help="suffix of the result files (run9 writes host_table_check_<space>_run9.*)")
    parser.add_argument(
        "--variants-from",
        type=Path,
        metavar="JSON",
        help="no timing: cross-validate correction variants on the networks of an earlier result file (needs --table)",
    )
    parser.add_argument("--table", type=Path, help="the table that result file's command wrote (for --variants-from)")
    parser.add_argument("--store", type=Path, help="reuse this store (default: a fresh temporary one, so the command measures)")
    args = parser.parse_args(argv)
    # Pin the whole process before torch or onnxruntime start threads: a thread created earlier keeps its
    # affinity, and torch's exporter threads on the other core were one source of noise in run 3.
    if args.variants_from:
        if not args.table:
            parser.error("--variants-from needs --table (the table that result file's command wrote)")
        from experiments.host_fit_variants import cross_validate_variants

        return cross_validate_variants(args.variants_from, args.table)
    os.sched_setaffinity(0, {args.core})
    import torch

    torch.set_num_threads(1)
    from nas.io import atomic_write_text
    from nas.latency.host import fingerprint, host_key, host_mismatch
    from nas.latency.drift import drift_ratio
    from nas.latency.host_fit import HELD_OUT_SEED, FitPlan, space_label, timed_networks
    from nas.latency.table import LatencyTable
    from nas.latency.validate import measure_archs
    from nas.resources import shipped_dir
    from nas.space import get_space

    load_before = os.getloadavg()
    store = args.store or Path(tempfile.mkdtemp(prefix="host-check-store-"))
    command = run_command(args.space, store, args.core)
    here = fingerprint()
    new = LatencyTable.load(store / "cpu" / f"{host_key(here)}.yaml")
    shipped = LatencyTable.load(shipped_dir("latency_tables") / "cpu.yaml")

    space = get_space(args.space)
    archs = [space.random(seed).with_name(f"{space.name}-s{seed}") for seed in range(args.samples)]
    # The command's own networks (6 calibration, 8 held-out), re-timed in the same passes. Their times at the command
    # are in the table's header, so now / then is the host's drift since the command, measured against measured
    # (no table involved); and refitting the correction on them here, in the same passes as the 24, gives the
    # method's error with no drift at all.
    label = space_label(space, scaled=False)
    own_by_seed = timed_networks(space, FitPlan())
    seeds = list(own_by_seed)
    own_all = list(own_by_seed.values())
    timed = [
        measure_archs(archs + own_all, precision="fp32", rounds=args.rounds, runs_per_round=args.runs, progress=False) for _ in range(2)
    ]
    passes = [t[: len(archs)] for t in timed]
    own_times = [dict(zip(seeds, (m.median_ms for m in t[len(archs) :]))) for t in timed]
    own = [arch for seed, arch in own_by_seed.items() if int(seed) >= HELD_OUT_SEED]
    own_passes = [[m for seed, m in zip(seeds, t[len(archs) :]) if int(seed) >= HELD_OUT_SEED] for t in timed]
    stored = {str(k): float(v) for k, v in (new.header.get("fidelity", {}).get(label, {}).get("timed_ms") or {}).items()}
    drift = [drift_ratio(stored, times) for times in own_times]
    truth = [m.median_ms for m in passes[0]]
    repeat = [m.median_ms for m in passes[1]]
    predicted_new = [new.latency(arch) for arch in archs]
    shipped_ok = all(not shipped.missing(arch) for arch in archs)
    predicted_shipped = [shipped.latency(arch) for arch in archs] if shipped_ok else []
    run_spread = [(m.p90_ms - m.p10_ms) / m.median_ms for m in passes[0]]  # of its runs
    rows = [
        {
            "name": arch.name,
            "arch": arch.to_string(),
            "measured_ms": truth[i],
            "measured_p10_ms": passes[0][i].p10_ms,
            "repeat_ms": repeat[i],
            "p10_p90_pct": round(run_spread[i] * 100, 2),
            "new_table_ms": predicted_new[i],
            **({"shipped_table_ms": predicted_shipped[i]} if shipped_ok else {}),
        }
        for i, arch in enumerate(archs)
    ]
    variants = method_variants(new, archs, truth, own_by_seed, own_times[0])
    residual = residual_analysis(new, archs, truth, [p * (drift[0] or 1.0) for p in predicted_new])
    fidelity_header = {k: {n: v for n, v in f.items() if n != "timed_ms"} for k, f in new.header.get("fidelity", {}).items()}
    # op by op: each entry is the steadiest of a few short windows, so this survives load better than whole networks do
    ratios = np.array([new.entries[k].median_ms / shipped.entries[k].median_ms for k in new.entries if k in shipped.entries])
    op_spread = np.array([(e.p90_ms - e.p10_ms) / e.median_ms for e in new.entries.values()])
    result = {
        "question": "one command measures this host: time, held-out fidelity, shipped table's error here",
        "host": here,
        "host_key": host_key(here),
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "command": command,
        "table": str(new.path),
        "table_entries": len(new.entries),
        "table_profiling": new.header.get("profiling"),
        "table_correction": {k: v for k, v in (new.correction or {}).items() if k != "method"},
        "table_fidelity_in_header": fidelity_header,
        "check": {
            "networks": len(archs),
            "seeds": f"0..{args.samples - 1}",
            "timing": f"{args.rounds} rounds x {args.runs} runs per network, interleaved, 2 passes, pinned to core {args.core}",
            "new_table": score(predicted_new, truth),
            "shipped_table": score(predicted_shipped, truth) if shipped_ok else "shipped table lacks ops of these networks",
            "repeat_pass_as_prediction": score(repeat, truth),
            # the fast tail of each network's rounds: the least disturbed of them
            "new_table_vs_p10": score(predicted_new, [m.p10_ms for m in passes[0]]),
            "shipped_table_vs_p10": score(predicted_shipped, [m.p10_ms for m in passes[0]]) if shipped_ok else "n/a",
            "repeat_pass_p10_vs_p10": score([m.p10_ms for m in passes[1]], [m.p10_ms for m in passes[0]]),
            "command_held_out_retimed": score([new.latency(arch) for arch in own], [m.median_ms for m in own_passes[0]]),
            "command_held_out_networks": len(own),
            # drift: the command's 14 fit networks re-timed now / their times in the header (measured against measured)
            "drift_ratio_pass1": round(drift[0], 4) if drift[0] else None,
            "drift_ratio_pass2": round(drift[1], 4) if drift[1] else None,
            "drift_networks": len(set(stored) & set(own_times[0])),
            "new_table_drift_corrected": score([p * drift[0] for p in predicted_new], truth) if drift[0] else "no fit times in the header",
            "method_variants_fitted_in_these_passes": variants,
            "run_p10_p90_pct": {
                "median": round(float(np.median(run_spread)) * 100, 2),
                "max": round(float(np.max(run_spread)) * 100, 2),
            },
        },
        "ops_new_over_shipped": {
            "ops": int(ratios.size),
            "p10": round(float(np.percentile(ratios, 10)), 3) if ratios.size else None,
            "median": round(float(np.median(ratios)), 3) if ratios.size else None,
            "p90": round(float(np.percentile(ratios, 90)), 3) if ratios.size else None,
            "op_p10_p90_pct_median": round(float(np.median(op_spread)) * 100, 2),
        },
        "shipped_table_host": shipped.header.get("host") or {"host_cpu": shipped.header.get("host_cpu")},
        "shipped_mismatch_line": host_mismatch(shipped.header, device="cpu", space=args.space),
        "speed_while_profiling": (new.header.get("profiling") or {}).get(label, {}).get("speed"),
        "residual": residual,
        "rows": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / (f"host_table_check_{args.space}" + (f"_{args.tag}" if args.tag else ""))
    # atomic: a killed run leaves the earlier result files whole; the table is kept beside them (the store is temporary)
    atomic_write_text(out.with_suffix(".json"), json.dumps(result, indent=1) + "\n")
    atomic_write_text(out.with_suffix(".md"), markdown(result) + "\n")
    atomic_write_text(out.parent / f"{out.name}_table.yaml", Path(new.path).read_text())
    print(markdown(result))
    return 0


def markdown(result: dict[str, Any]) -> str:
    check, command = result["check"], result["command"]
    host = result["host"]

    def line(name: str, f: Any) -> str:
        if not isinstance(f, dict):
            return f"| {name} | {f} | | | | |"
        return f"| {name} | {f['within_10pct']:.0%} | {f['within_5pct']:.0%} | {f['mape_pct']:.1f} % | {f['bias_pct']:+.1f} % | {f['spearman']:.3f} |"

    parts = [
        f"# Host table check: {command['command']}",
        "",
        f"Host: {host['model_name']} (family {host['family']} model {host['model']} stepping {host['stepping']}, "
        f"flags {' '.join(host['flags']) or 'none of ' + 'the kernel-relevant ones'}), {host['cpus']} usable CPUs, "
        f"{host['runtime']} {host['runtime_version']}, 1 thread, {command['pinned']}; host key {result['host_key']}. "
        f"Load average before {result['load_average_before']}, after {result['load_average_after']} (a machine shared with other jobs).",
        "",
        f"**The one command**: {command['wall_s']:.0f} s wall ({command['wall_s'] / 60:.1f} min), peak RSS {command['max_rss_mb']} MB; "
        f"{result['table_entries']} entries; profiling record {result['table_profiling']}.",
        "",
        "Its own output:",
        "",
        *[f"    {text}" for text in command["stdout"]],
        "",
        f"**Check on {check['networks']} networks no fit saw** (seeds {check['seeds']}; {check['timing']}):",
        "",
        "| prediction | within ±10 % | within ±5 % | MAPE | bias | Spearman |",
        "|---|---|---|---|---|---|",
        line("new table (this host, one command)", check["new_table"]),
        line("shipped cpu table", check["shipped_table"]),
        line("second timing pass (measurement floor)", check["repeat_pass_as_prediction"]),
        "",
        "The same against each network's p10 (for the rule's estimate this is the same column):",
        "",
        "| prediction | within ±10 % | within ±5 % | MAPE | bias | Spearman |",
        "|---|---|---|---|---|---|",
        line("new table vs p10", check["new_table_vs_p10"]),
        line("shipped cpu table vs p10", check["shipped_table_vs_p10"]),
        line("second pass p10 vs first pass p10", check["repeat_pass_p10_vs_p10"]),
        "",
        *(
            [
                f"The command's own {check['command_held_out_networks']} held-out networks (seeds 200000+), re-timed in these passes "
                "against the new table (the command's own check of them is in its output above; a gap between the two is the "
                "machine changing state between the command and this check):",
                "",
                "| prediction | within ±10 % | within ±5 % | MAPE | bias | Spearman |",
                "|---|---|---|---|---|---|",
                line("new table, command's held-out networks re-timed", check["command_held_out_retimed"]),
                "",
            ]
            if "command_held_out_retimed" in check
            else []
        ),
        *drift_section(result),
        f"Run-to-run spread of the measurement: p10-p90 of each network's runs is {check['run_p10_p90_pct']['median']:.1f} % "
        f"of its median (median over networks; max {check['run_p10_p90_pct']['max']:.1f} %).",
        "",
        f"Op by op, this host's entries over the shipped table's (same keys): {result['ops_new_over_shipped']}.",
        "",
        f"Shipped table's host: {result['shipped_table_host']}; the line nas-inspect prints for it here: {result['shipped_mismatch_line']}",
    ]
    return "\n".join(parts)


def drift_section(result: dict[str, Any]) -> list[str]:
    """The host's drift since the command, the drift-corrected figures, the method variants and the missed networks."""
    check = result["check"]
    if "drift_ratio_pass1" not in check:
        return []
    speed = result.get("speed_while_profiling") or {}
    row = "| {} | {:.0%} | {:.0%} | {:.1f} % | {:+.1f} % | {:.3f} |"

    def line(name: str, f: Any) -> str:
        if not isinstance(f, dict):
            return f"| {name} | {f} | | | | |"
        return row.format(name, f["within_10pct"], f["within_5pct"], f["mape_pct"], f["bias_pct"], f["spearman"])

    parts = [
        f"**The host's drift** (measured against measured, no table): the command's {check['drift_networks']} fit networks "
        f"re-timed now over their times in the header: ×{check['drift_ratio_pass1']} in the first pass, ×{check['drift_ratio_pass2']} "
        "in the second (above 1: the host is slower now than when the correction was fitted). "
        + (
            f"While the command timed the ops, its reference network ({speed.get('reference')}) went from {speed['reference_ms'][0]:.3f} ms "
            f"to {speed['reference_ms'][-1]:.3f} ms ({speed['change_pct']:+.1f} %)."
            if speed
            else ""
        ),
        "",
        "| prediction | within ±10 % | within ±5 % | MAPE | bias | Spearman |",
        "|---|---|---|---|---|---|",
        line("new table, raw (as in the first table above)", check["new_table"]),
        line("new table × drift ratio (drift-corrected)", check["new_table_drift_corrected"]),
        "",
        "The correction refitted on the command's networks as re-timed in the first pass (same rounds as the 24, so no drift "
        "between fit and check: the method's own error), scored on the 24:",
        "",
        "| refit on | within ±10 % | within ±5 % | MAPE | bias | Spearman | class factors |",
        "|---|---|---|---|---|---|---|",
        *[
            line(name, f) + f" {' '.join(f'{k} {v:.3f}' for k, v in f['type_scale'].items())} |"
            for name, f in check["method_variants_fitted_in_these_passes"].items()
        ],
        "",
    ]
    residual = result["residual"]
    parts += [
        f"Error of the drift-corrected prediction against each op class's share of the raw sum (Pearson r over the networks): "
        f"{residual['correlation_with_error']}. Networks still missed by more than ±10 %: "
        + (
            "; ".join(
                f"{r['name']} {r['error_pct']:+.1f} % (shares {r['share_pct']}, kernel-5 blocks {r['kernel5']})" for r in residual["missed"]
            )
            or "none"
        )
        + ".",
        "",
    ]
    return parts


if __name__ == "__main__":
    raise SystemExit(main())
