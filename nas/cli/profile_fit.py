"""``nas-profile fit``: per-op costs from whole-model latencies (non-negative least squares).

    nas-profile fit --device X measurements.csv [--table X-fitted.yaml] [--holdout 0.2]

measurements.csv: columns ``arch`` (compact arch string, CSV-quoted: it contains commas) and ``latency_ms``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from nas.cli._common import positive_float, run
from nas.errors import NasError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nas-profile fit", description="Fit per-op latency costs from end-to-end latencies of many architectures."
    )
    parser.add_argument("measurements", type=Path, help="CSV with columns arch, latency_ms")
    parser.add_argument("--device", required=True)
    parser.add_argument(
        "--table", type=Path, help="table file to write (default: <device>-fitted.yaml in the per-user folder, $NAS_TABLE_DIR overrides)"
    )
    parser.add_argument("--precision", choices=("fp32", "int8"), help="default: the device's")
    parser.add_argument("--holdout", type=positive_float, default=0.2, help="share of archs held out for the reported error (default 0.2)")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def _main(args: argparse.Namespace) -> int:
    from nas.devices import get_device
    from nas.resources import user_table_dir
    from nas.latency.fit import fit_table, read_measurements

    if not 0 < args.holdout < 1:
        raise NasError(f"--holdout must be between 0 and 1, got {args.holdout}")
    device = get_device(args.device)
    path = args.table or user_table_dir() / f"{device.name}-fitted.yaml"
    samples = read_measurements(args.measurements)
    table = fit_table(samples, device=device, precision=args.precision or device.precision, holdout=args.holdout, seed=args.seed, path=path)
    table.save()
    f = table.header["fidelity"]["held_out"]
    print(
        f"{device.name}: {len(table.entries)} fitted op costs from {len(samples)} archs -> {path}\n"
        f"held out {f['archs']} archs: {f['within_5pct']:.0%} within ±5 %, {f['within_10pct']:.0%} within ±10 %, "
        f"MAPE {f['mape_pct']:.1f} %, bias {f['bias_pct']:+.1f} %"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
