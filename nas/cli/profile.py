"""``nas-profile``: build or extend a device's latency table, list devices, and the table subcommands.

nas-profile --device cpu --space mobiledet [--resolution 224] [--precision int8]
nas-profile --list-devices
nas-profile validate --device cpu --space mobiledet --samples 30
nas-profile import --device dsp results.csv
nas-profile fit --device X measurements.csv
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path
from typing import Sequence

from nas.cli._common import positive_float, positive_int, run
from nas.errors import NasError

# subcommand → module with ``main(argv)``; imported only when used
SUBCOMMANDS = {
    "validate": "nas.cli.profile_validate",
    "import": "nas.cli.profile_import",
    "fit": "nas.cli.profile_fit",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nas-profile",
        description="Build or extend a device's latency table from the distinct ops of a search space (resumable).",
        epilog="subcommands: " + ", ".join(f"nas-profile {name} ..." for name in SUBCOMMANDS),
    )
    parser.add_argument("--device", help="target device (see --list-devices)")
    parser.add_argument("--space", action="append", default=[], help="search space name or YAML (repeatable)")
    parser.add_argument("--resolution", type=positive_int, help="input resolution (default: the space's)")
    parser.add_argument(
        "--width", type=positive_float, action="append", default=[], help="width multiplier α (repeatable; default: the space's)"
    )
    parser.add_argument("--precision", choices=("fp32", "int8"), help="default: the device's precision")
    parser.add_argument("--backend", help="how entries are produced (default: the device's backend)")
    parser.add_argument("--provider", help="onnxruntime execution provider for the ort backend (default: the device's)")
    parser.add_argument("--out", type=Path, help="folder for files the backend writes (bundle; ort keeps the op models there)")
    parser.add_argument(
        "--table", type=Path, help="table file to write (default: the device's table in the per-user folder, $NAS_TABLE_DIR overrides)"
    )
    parser.add_argument("--threads", type=positive_int, default=1, help="intra-op threads for timing (default 1)")
    parser.add_argument("--min-runs", type=positive_int, default=50, help="timed runs per op at least (default 50)")
    parser.add_argument("--min-seconds", type=float, default=0.25, help="timing time per op at least (default 0.25 s)")
    parser.add_argument(
        "--remeasure-noisy",
        type=positive_float,
        metavar="SPREAD",
        help="re-time existing entries whose (p90-p10)/median exceeds SPREAD (e.g. 0.3)",
    )
    parser.add_argument("--save-every", type=positive_int, default=5, help="save the table after this many new entries")
    parser.add_argument("--list-devices", action="store_true", help="list devices with the source and fidelity of their tables")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        return _subcommand(argv[0], argv[1:])
    return run(_main, build_parser(), argv)


def _subcommand(name: str, argv: list[str]) -> int:
    try:
        module = importlib.import_module(SUBCOMMANDS[name])
    except ModuleNotFoundError as error:
        if error.name != SUBCOMMANDS[name]:
            raise
        print(
            f"nas-profile: error: 'nas-profile {name}' is not available in this installation ({SUBCOMMANDS[name]} is missing)",
            file=sys.stderr,
        )
        return 2
    return int(module.main(argv) or 0)


def _main(args: argparse.Namespace) -> int:
    if args.list_devices:
        return list_devices()
    if not args.device or not args.space:
        raise NasError("give --device and --space (or --list-devices, or a subcommand: " + ", ".join(SUBCOMMANDS) + ")")
    from nas.devices import get_device
    from nas.latency.backends import BackendError, make_backend
    from nas.latency.profile import TimingOptions, build_table, open_table, space_jobs
    from nas.resources import writable_table
    from nas.space import get_space

    device = get_device(args.device)
    precision = args.precision or device.precision
    backend_name = args.backend or device.backend
    table_path = args.table or writable_table(_table_for(device, precision, backend_name))  # shipped tables stay read-only
    try:
        timing = TimingOptions(threads=args.threads, min_runs=args.min_runs, min_seconds=args.min_seconds)
        backend = make_backend(backend_name, device=device, provider=args.provider, out=args.out, threads=args.threads, timing=timing)
    except BackendError as error:
        hint = f"; to build this device's table: {device.build_hint}" if device.build_hint else ""
        raise BackendError(f"{error}{hint}") from None
    _check_writable(Path(table_path))
    table = open_table(table_path, device=device, backend=backend, precision=precision)
    for space_name in args.space:
        for width in args.width or [None]:
            space = get_space(space_name, width=width, resolution=args.resolution)
            ops, heads = space.ops()
            jobs = space_jobs(ops, heads, precision)
            label = f"{space.name}@{space.resolution}" + (f"-a{space.width:g}" if args.width else "")
            start = time.perf_counter()
            result, skipped = build_table(
                jobs,
                table=table,
                backend=backend,
                precision=precision,
                save_every=args.save_every,
                label=label,
                remeasure_spread=args.remeasure_noisy,
            )
            seconds = time.perf_counter() - start
            print(
                f"{label}: {len(jobs)} distinct ops, {skipped} already in the table, {len(result.entries)} new ({seconds / 60:.2f} min) -> {table_path}"
            )
            if result.note:
                print(result.note)
    return 0


def _check_writable(path: Path) -> None:
    """Fail before minutes of measuring, not after, when the table cannot be written."""
    from nas.io import temp_path_beside

    temp_path_beside(path).unlink()


def _table_for(device, precision: str, backend_name: str) -> Path:  # type: ignore[no-untyped-def]
    """The device's table, or its ``-int8``/``-fp32`` sibling device's table when the precision differs.

    Measuring a device whose shipped table is modelled (the bundle route, or onnxruntime on the
    device itself) writes ``<device>-measured.yaml`` beside it, which the device then prefers.
    """
    from nas.devices import DEVICES, MEASURING_BACKENDS, get_device

    if backend_name in MEASURING_BACKENDS and device.backend not in MEASURING_BACKENDS:
        return device.measured_table_path()
    if precision == device.precision:
        return device.table_path()
    base = device.name.removesuffix("-int8")
    sibling = f"{base}-int8" if precision == "int8" else base
    if sibling in DEVICES and get_device(sibling).precision == precision:
        return get_device(sibling).table_path()
    raise NasError(f"device {device.name!r} is {device.precision}; give --table FILE for a {precision} table")


def list_devices() -> int:
    """One line per registered device (plugins included): precision, table source, size and fidelity."""
    from nas.devices import DEVICES, get_device
    from nas.latency.table import LatencyTable

    print(f"{'device':<16} {'precision':<9} {'backend':<9} {'source':<9} {'entries':>7}  fidelity / how to build")
    for name in DEVICES.names():
        try:
            device = get_device(name)
        except NasError as error:
            print(f"{name:<16} (cannot load: {error})")
            continue
        path = device.table_path()
        if not path.exists():
            hint = device.build_hint or f"nas-profile --device {name} --space SPACE"
            print(f"{name:<16} {device.precision:<9} {device.backend:<9} {'-':<9} {0:>7}  no table; build: {hint}")
            continue
        try:
            table = LatencyTable.load(path)
        except NasError as error:
            print(f"{name:<16} {device.precision:<9} {device.backend:<9} {'?':<9} {'?':>7}  {error}")
            continue
        print(
            f"{name:<16} {table.precision:<9} {device.backend:<9} {table.source:<9} {len(table.entries):>7}  {describe_fidelity(table.header)}"
            f"{describe_host(table.header, name)}"
        )
    return 0


def describe_host(header: dict, device: str) -> str:
    """``; host: <model name> (this host | another host)`` for measured tables, empty for modelled or imported ones."""
    from nas.latency.host import host_mismatch

    if header.get("source") != "measured" or header.get("backend") == "bundle":
        return ""
    host = header.get("host")
    if not isinstance(host, dict):
        return f"; host: unrecorded ({header.get('host_cpu') or host or 'no host in header'})"
    mine = host_mismatch(header, device=device) is None
    return f"; host: {host.get('model_name', '?')} ({'this host' if mine else 'another host'})"


def describe_fidelity(header: dict) -> str:
    """Short summary of the header's ``fidelity`` (measured validation or leave-one-out of a modelled table)."""
    fidelity = header.get("fidelity")
    if not fidelity:
        return "fidelity not validated"
    if not isinstance(fidelity, dict):
        return str(fidelity)
    parts = []
    for label, figures in fidelity.items():
        if isinstance(figures, dict) and "within_10pct" in figures:
            parts.append(f"{label}: {figures['within_10pct']:.0%} within ±10%, MAPE {figures.get('mape_pct', float('nan')):.1f}%")
        elif isinstance(figures, dict) and "median_loo_error_pct" in figures:
            parts.append(f"{label}: leave-one-out median error {figures['median_loo_error_pct']:.1f}%")
        else:
            parts.append(f"{label}: {figures}")
    return "; ".join(parts)


if __name__ == "__main__":
    raise SystemExit(main())
