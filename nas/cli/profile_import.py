"""``nas-profile import``: merge timings measured elsewhere into a device's latency table.

nas-profile import --device dsp results.csv [--table dsp-measured.yaml]     # bundle runner CSV
nas-profile import --format hw-nas-bench --device pixel3 PATH/TO/fbnet_lut.json   # HW-NAS-Bench's FBNet-space LUT
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, Sequence

from nas.cli._common import run
from nas.errors import NasError


def _import_bundle_csv(args: argparse.Namespace, device: str) -> str:
    from nas.devices import MEASURING_BACKENDS, get_device
    from nas.latency.backends.bundle import read_results
    from nas.latency.table import LatencyTable, new_header
    from nas.resources import table_file, writable_table

    target = get_device(device)
    # Timings from another machine never go into this host's table (<store>/<device>/<host key>.yaml): the flat file name.
    default = table_file(target.table) if target.backend in MEASURING_BACKENDS else target.measured_table_path()
    path = args.table or writable_table(default)  # shipped tables stay read-only
    entries, info = read_results(args.file)
    if not entries:
        raise NasError(f"{args.file}: no timings to import")
    precision = args.precision or target.precision
    if Path(path).exists():
        table = LatencyTable.load(path)
        if table.source != "measured":
            raise NasError(f"{path}: table is {table.source}; measured entries go to their own table: add --table {device}-measured.yaml")
        if table.precision != precision:
            raise NasError(f"{path}: table precision is {table.precision}, the import is {precision}; use --table")
    else:
        header = new_header(
            device=device,
            description=target.description,
            source="measured",
            precision=precision,
            runtime=f"onnxruntime {info.get('runtime_version', '?')} (bundle runner on the device)",
            provider=info.get("provider", "?"),
            host=info.get("host", "?"),
            backend="bundle",
        )
        table = LatencyTable(header=header, path=Path(path))
    before = len(table.entries)
    table.merge(entries)
    table.save(path)
    return f"{device}: {len(entries)} measured entries imported ({len(table.entries) - before} new) -> {path}"


def _import_hw_nas_bench(args: argparse.Namespace, device: str) -> str:
    from nas.latency.hwnasbench import import_hw_nas_bench

    table = import_hw_nas_bench(args.file, device, table_path=args.table)
    table.save()
    return f"{device}: {len(table.entries)} imported entries (fbnet space) -> {table.path}"


FORMATS: dict[str, Callable[[argparse.Namespace, str], str]] = {
    "bundle-csv": _import_bundle_csv,
    "hw-nas-bench": _import_hw_nas_bench,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nas-profile import", description="Merge timings measured elsewhere into a latency table.")
    parser.add_argument("file", type=Path, help="bundle runner results.csv, or HW-NAS-Bench fbnet_lut.json")
    parser.add_argument(
        "--device", action="append", required=True, help="target device (repeatable for hw-nas-bench: pixel3, raspi4, edgegpu)"
    )
    parser.add_argument("--format", choices=sorted(FORMATS), default="bundle-csv")
    parser.add_argument(
        "--table", type=Path, help="table file to write (default: the device's table in the per-user folder, $NAS_TABLE_DIR overrides)"
    )
    parser.add_argument("--precision", choices=("fp32", "int8"), help="precision of the imported timings (default: the device's)")
    return parser


def _main(args: argparse.Namespace) -> int:
    if args.table and len(args.device) > 1:
        raise NasError("--table names one file: give one --device with it")
    for device in args.device:
        print(FORMATS[args.format](args, device))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
