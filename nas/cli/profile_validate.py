"""``nas-profile validate``: time random networks end to end and score the table's predictions.

    nas-profile validate --device cpu --space mobiledet --samples 30 [--calibrate 4]

``--calibrate N`` first fits the context correction on the reference networks
(MobileNetV1/V2 at several widths) plus N random networks per space drawn with
seeds disjoint from the validation ones; the figures are then held-out ones.
Results go into the table header (``correction``, ``fidelity``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Sequence

from nas.cli._common import positive_int, run
from nas.errors import NasError

CALIBRATION_SEED = 100_000  # calibration networks never coincide with validation seeds 0..N-1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nas-profile validate", description="Fidelity of a device's latency table against end-to-end timings."
    )
    parser.add_argument("--device", required=True)
    parser.add_argument("--space", action="append", required=True, help="search space (repeatable)")
    parser.add_argument("--samples", type=positive_int, default=30, help="random architectures per space (default 30)")
    parser.add_argument("--seed", type=int, default=0, help="first sampling seed")
    parser.add_argument("--resolution", type=positive_int)
    parser.add_argument(
        "--calibrate", type=int, default=0, metavar="N", help="fit the context correction first (reference nets + N per space)"
    )
    parser.add_argument("--rounds", type=positive_int, default=10, help="interleaved timing rounds per network")
    parser.add_argument("--runs", type=positive_int, default=20, help="runs per network per round")
    parser.add_argument("--table", type=Path, help="table file (default: the device's table)")
    parser.add_argument("--no-store", action="store_true", help="do not write the results into the table header")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    return parser


def _main(args: argparse.Namespace) -> int:
    from nas.devices import get_device
    from nas.latency.validate import network_timer, reference_networks, store, validate
    from nas.space import get_space

    device = get_device(args.device)
    if device.backend not in ("ort", "torch"):
        raise NasError(f"device {device.name!r} is not timed on this host (backend {device.backend}); validate it where it runs")
    from nas.latency.table import LatencyTable

    table = LatencyTable.load(args.table) if args.table else device.load_table()
    groups, calibration = {}, []
    for name in args.space:
        space = get_space(name, resolution=args.resolution)
        groups[f"{space.name}@{space.resolution}"] = [
            space.random(args.seed + i).with_name(f"{space.name}-s{args.seed + i}") for i in range(args.samples)
        ]
        calibration += [space.random(CALIBRATION_SEED + i).with_name(f"{space.name}-cal{i}") for i in range(max(args.calibrate, 0))]
    if args.calibrate:
        calibration = reference_networks() + calibration
    timer = network_timer(device.backend, provider=device.provider)
    report = validate(table, groups, calibration=calibration, rounds=args.rounds, runs_per_round=args.runs, timer=timer)
    if not args.no_store:
        store(table, report)
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    if "correction" in report:
        c = report["correction"]
        print(
            f"correction: scale {c['scale']:.4f}, per-call overhead {c['overhead_ms'] * 1000:.1f} µs ({c['calibration_networks']} calibration networks)"
        )
    for label, group in report["groups"].items():
        print(f"{label}: measurement round-to-round spread {group['measurement_round_spread_pct']:.1f}% (median)")
        for kind in ("corrected", "uncorrected", "flops_baseline"):
            f = group[kind]
            print(
                f"  {kind:<15} ±5%: {f['within_5pct']:.0%}  ±10%: {f['within_10pct']:.0%}  MAPE {f['mape_pct']:.2f}%  "
                f"bias {f['bias_pct']:+.2f}%  Spearman {f['spearman']:.3f}  (n={f['n']})"
            )
    if not args.no_store:
        print(f"stored in {table.path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
