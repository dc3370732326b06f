"""``nas-profile``: build or extend a device's latency table, list devices, and the table subcommands.

nas-profile --device cpu --space mobiledet [--resolution 224] [--precision int8]   (ops, then correction + check)
nas-profile --device cpu --arch arch.yaml       (one architecture's ops; any device, modelled ones too)
nas-profile --list-devices
nas-profile validate --device cpu --space mobiledet --samples 30
nas-profile import --device dsp results.csv
nas-profile fit --device X measurements.csv
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from nas.cli._common import positive_float, positive_int, run
from nas.errors import NasError
from nas.latency.host import MEASURED_IN_PROCESS
from nas.latency.host_fit import FitPlan
from nas.latency.profile import TimingOptions
from nas.resources import TABLE_DIR_ENV

# subcommand → module with ``main(argv)``; imported only when used
SUBCOMMANDS = {
    "validate": "nas.cli.profile_validate",
    "import": "nas.cli.profile_import",
    "fit": "nas.cli.profile_fit",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nas-profile",
        description=(
            "Build or extend a device's latency table from the distinct ops of a search space or of one architecture "
            "(resumable). On a device timed here (cpu), the same run fits the context correction on a few whole networks "
            "and stores the held-out fidelity; the table goes to the per-user store, filed by this host's fingerprint."
        ),
        epilog="subcommands: " + ", ".join(f"nas-profile {name} ..." for name in SUBCOMMANDS),
    )
    parser.add_argument("--device", help="target device (see --list-devices)")
    parser.add_argument("--space", action="append", default=[], help="search space name or YAML (repeatable)")
    parser.add_argument(
        "--arch", action="append", default=[], help="an architecture (YAML file or compact string) whose ops to add (repeatable)"
    )
    parser.add_argument("--resolution", type=positive_int, help="input resolution (default: the space's)")
    parser.add_argument(
        "--width", type=positive_float, action="append", default=[], help="width multiplier α (repeatable; default: the space's)"
    )
    parser.add_argument("--precision", choices=("fp32", "int8"), help="default: the device's precision")
    parser.add_argument("--backend", help="how entries are produced (default: the device's backend)")
    parser.add_argument("--provider", help="onnxruntime execution provider for the ort backend (default: the device's)")
    parser.add_argument("--out", type=Path, help="folder for files the backend writes (bundle; ort keeps the op models there)")
    parser.add_argument(
        "--table",
        type=Path,
        help="table file to write (default: <store>/<device>/<host key>.yaml for a device timed here, else <store>/<device's file>)",
    )
    parser.add_argument("--store", type=Path, help=f"per-user table store (default: ${TABLE_DIR_ENV}, else the user data folder)")
    parser.add_argument("--threads", type=positive_int, default=1, help="intra-op threads for timing (default 1)")
    parser.add_argument(
        "--min-runs",
        type=positive_int,
        default=TimingOptions.min_runs,
        help=f"timed runs per op at least (default {TimingOptions.min_runs})",
    )
    parser.add_argument(
        "--min-seconds",
        type=float,
        default=TimingOptions.min_seconds,
        help=f"timing time per op at least (default {TimingOptions.min_seconds:g} s; more rounds follow until the op's estimate is stable)",
    )
    parser.add_argument(
        "--remeasure-noisy",
        type=positive_float,
        metavar="SPREAD",
        help="re-time existing entries whose (p90-p10)/median exceeds SPREAD (e.g. 0.3)",
    )
    parser.add_argument("--save-every", type=positive_int, default=5, help="save the table after this many new entries")
    parser.add_argument("--no-fit", action="store_true", help="only time the ops: no context correction, no held-out check")
    parser.add_argument("--refit", action="store_true", help="fit and check again even when no op was added (e.g. on a quieter machine)")
    parser.add_argument(
        "--fit-networks", type=positive_int, default=FitPlan.calibration, help="whole networks per space the correction is fitted on"
    )
    parser.add_argument(
        "--check-networks", type=positive_int, default=FitPlan.held_out, help="held-out whole networks per space timed for the fidelity"
    )
    parser.add_argument("--list-devices", action="store_true", help="list devices with the source, fidelity and host of their tables")
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
    if args.store:
        os.environ[TABLE_DIR_ENV] = str(args.store)  # read by nas.resources.user_table_dir, here and in any subprocess
    if args.list_devices:
        return list_devices()
    if not args.device or not (args.space or args.arch):
        raise NasError("give --device and --space or --arch (or --list-devices, or a subcommand: " + ", ".join(SUBCOMMANDS) + ")")
    if args.arch and args.width:
        raise NasError("--width applies to --space, not to --arch (an architecture has its channels already)")
    from nas.devices import get_device
    from nas.latency.backends import BackendError, make_backend
    from nas.latency.profile import open_table
    from nas.resources import writable_table

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
    timed_here = backend.name in MEASURED_IN_PROCESS
    if timed_here and not args.table:
        _announce(device, Path(table_path))
        _start_from_shipped(device, Path(table_path))
    table = open_table(table_path, device=device, backend=backend, precision=precision)
    probe = timed_here and not args.no_fit  # time a reference network around each space's ops (nas.latency.drift)
    labelled, new = _profile_spaces(args, table=table, backend=backend, precision=precision, probe=probe)
    new += _profile_archs(args, table=table, backend=backend, precision=precision)
    if timed_here and labelled and not args.no_fit:
        _fit(args, table=table, labelled=labelled, backend=backend, new=new)
    elif timed_here and args.arch and not table.correction:
        print(f"no context correction in {table_path} yet: nas-profile --device {device.name} --space SPACE fits one on whole networks")
    return 0


def _announce(device: Any, path: Path) -> None:
    """Say which table this run builds, and why when the device's current table is another host's."""
    from nas.latency.host import host_mismatch
    from nas.latency.table import LatencyTable

    if path.exists():
        print(f"{device.name}: extending this host's table {path}")
        return
    current = device.table_path()
    line = None
    if current.exists() and current != path:
        try:
            line = host_mismatch(LatencyTable.load(current).header, device=device.name)
        except NasError:
            line = None
    print(f"{device.name}: measuring this host into {path}" + (f" ({line})" if line else ""))


def _start_from_shipped(device: Any, path: Path) -> None:
    """A shipped table measured on this very host (same fingerprint hash) is copied into the store, then extended."""
    from nas.latency.host import host_key
    from nas.latency.table import LatencyTable
    from nas.resources import shipped_dir

    shipped = shipped_dir("latency_tables") / device.table
    if path.exists() or not shipped.exists():
        return
    table = LatencyTable.load(shipped)
    host = table.header.get("host")
    if isinstance(host, dict) and host_key(host) == path.stem and table.device == path.parent.name:
        table.save(path)
        print(f"{device.name}: the shipped table was measured on this host: starting from a copy of it")


def _profile_spaces(args: argparse.Namespace, *, table: Any, backend: Any, precision: str, probe: bool) -> tuple[dict[str, Any], int]:
    """Each space (at each width) into the table; returns the spaces by header label and how many entries are new.

    With ``probe``, a reference network of the space is timed just before and just after its ops: the
    change is the host's speed change while the entries were taken, recorded and warned about.
    """
    from nas.latency.drift import ReferenceNetwork, SpeedProbe
    from nas.latency.host_fit import reference_network, space_label
    from nas.latency.profile import build_table, space_jobs, spread
    from nas.space import get_space

    labelled, new = {}, 0
    for space_name in args.space:
        for width in args.width or [None]:
            space = get_space(space_name, width=width, resolution=args.resolution)
            ops, heads = space.ops()
            jobs = space_jobs(ops, heads, precision)
            label = space_label(space, scaled=bool(args.width))
            noisy = args.remeasure_noisy
            pending = [j for j in jobs if j.key not in table.entries or (noisy is not None and spread(table.entries[j.key]) > noisy)]
            reference = ReferenceNetwork(reference_network(space), precision=precision) if probe and pending else None
            with reference or contextlib.nullcontext():
                speed = SpeedProbe(reference) if reference is not None else None
                if speed is not None:
                    speed.read()
                start = time.perf_counter()
                result, skipped = build_table(
                    jobs,
                    table=table,
                    backend=backend,
                    precision=precision,
                    save_every=args.save_every,
                    label=label,
                    remeasure_spread=noisy,
                )
                seconds = time.perf_counter() - start
                if speed is not None:
                    speed.read()
            print(
                f"{label}: {len(jobs)} distinct ops, {skipped} already in the table, {len(result.entries)} new ({seconds / 60:.2f} min) -> {table.path}"
            )
            if result.note:
                print(result.note)
            if speed is not None and reference is not None:
                _record_speed(table, label, speed, reference=reference.arch.name, space=space_name)
            labelled[label], new = space, new + len(result.entries)
    return labelled, new


def _record_speed(table: Any, label: str, speed: Any, *, reference: str, space: str) -> None:
    """Store the reference network's times around the ops in ``profiling.<label>.speed``; say how much the host moved."""
    from nas.latency.drift import drift_warning

    record = speed.record(name=reference)
    table.header.setdefault("profiling", {}).setdefault(label, {})["speed"] = record
    table.save()
    before, after = record["reference_ms"][0], record["reference_ms"][-1]
    print(
        f"{label}: host speed while timing the ops: reference network {before:.3f} ms before, {after:.3f} ms after ({record['change_pct']:+.1f} %)"
    )
    redo = f"taskset -c 1 nas-profile --device {table.device} --space {space} --table NEW.yaml"
    warning = drift_warning(label, record, redo=redo)
    if warning:
        print(warning)


def _profile_archs(args: argparse.Namespace, *, table: Any, backend: Any, precision: str) -> int:
    """The ops of each ``--arch`` into the table; prints the table's prediction for it. Returns how many entries are new."""
    from nas.latency.profile import arch_jobs, build_table
    from nas.target import load_target

    new = 0
    for text in args.arch:
        arch, _ = load_target(text, resolution=args.resolution)
        jobs = arch_jobs(arch, precision)
        result, skipped = build_table(jobs, table=table, backend=backend, precision=precision, save_every=args.save_every)
        if result.note:
            print(result.note)
        shown = "" if table.entries.keys() >= {job.key for job in jobs} else " (entries still to come)"
        latency = f": {table.latency(arch):.3f} ms from the table" if not shown else shown
        print(f"{arch.name}: {len(jobs)} distinct ops, {skipped} already in the table, {len(result.entries)} new -> {table.path}{latency}")
        new += len(result.entries)
    return new


def _fit(args: argparse.Namespace, *, table: Any, labelled: dict[str, Any], backend: Any, new: int) -> None:
    """Context correction and held-out fidelity from whole networks, in the run that measured the ops."""
    from nas.latency.host_fit import fit_and_check, needs_fit, summary

    if not args.refit and not needs_fit(table, list(labelled), new_entries=new):
        print(f"context correction and held-out fidelity already in {table.path} (nothing new measured; --refit fits again)")
        return
    plan = FitPlan(calibration=max(args.fit_networks, 2), held_out=max(args.check_networks, 3))
    count = (plan.calibration + plan.held_out) * len(labelled)
    print(f"fitting the context correction: timing about {count} whole networks end to end (progress bars show the ETA)")
    provider = getattr(backend, "provider", None) or "CPUExecutionProvider"
    report = fit_and_check(table, labelled, backend=backend.name, provider=provider, plan=plan)
    for line in summary(report, device=table.device):
        print(line)
    print(f"stored in {table.path}")


def _check_writable(path: Path) -> None:
    """Fail before minutes of measuring, not after, when the table cannot be written."""
    from nas.io import temp_path_beside

    temp_path_beside(path).unlink()


def _table_for(device: Any, precision: str, backend_name: str) -> Path:
    """The device's table to write, or its ``-int8``/``-fp32`` sibling device's when the precision differs.

    A device timed here writes this host's table in the store (``<store>/<device>/<host key>.yaml``).
    Measuring a device whose shipped table is modelled (the bundle route, or onnxruntime on the
    device itself) writes ``<device>-measured.yaml`` beside it, which the device then prefers.
    """
    from nas.devices import DEVICES, MEASURING_BACKENDS, get_device

    if backend_name in MEASURING_BACKENDS and device.backend not in MEASURING_BACKENDS:
        return Path(device.measured_table_path())
    if precision != device.precision:
        base = device.name.removesuffix("-int8")
        sibling = f"{base}-int8" if precision == "int8" else base
        if sibling not in DEVICES or get_device(sibling).precision != precision:
            raise NasError(f"device {device.name!r} is {device.precision}; give --table FILE for a {precision} table")
        device = get_device(sibling)
    mine = device.host_table_path() if backend_name == "ort" else None
    return Path(mine if mine is not None else device.table_path())


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
        for line in store_lines(name, in_use=path):
            print(f"{'':<16} {line}")
    return 0


def store_lines(device: str, *, in_use: Path) -> list[str]:
    """The device's other files in the user store: other hosts' tables (by host) and cached on-demand prices."""
    from nas.latency.table import LatencyTable
    from nas.resources import user_table_dir

    lines = []
    for path in sorted((user_table_dir() / device).glob("*.yaml")):
        if path.resolve() == in_use.resolve():
            continue
        try:
            table = LatencyTable.load(path)
        except NasError as error:
            lines.append(f"also in the store: {path}: {error}")
            continue
        if path.name.startswith("modelled-"):
            lines.append(f"on-demand prices cached: {len(table.entries)} ops in {path}")
        else:
            lines.append(f"also in the store: {path}: {len(table.entries)} entries{describe_host(table.header, device)}")
    return lines


def describe_host(header: dict[str, Any], device: str) -> str:
    """``; host: <model name> (this host | another host)`` for measured tables, empty for modelled or imported ones."""
    from nas.latency.host import host_mismatch

    if header.get("source") != "measured" or header.get("backend") == "bundle":
        return ""
    host = header.get("host")
    if not isinstance(host, dict):
        return f"; host: unrecorded ({header.get('host_cpu') or host or 'no host in header'})"
    from nas.latency.host import host_key

    mine = host_mismatch(header, device=device) is None
    return f"; host: {host.get('model_name', '?')}, key {host_key(host)} ({'this host' if mine else 'another host'})"


def describe_fidelity(header: dict[str, Any]) -> str:
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
