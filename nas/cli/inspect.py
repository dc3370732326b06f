"""``nas-inspect TARGET``: per-layer shapes, params, MACs; table latency per device; proxy score."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Sequence

from nas.cli._common import add_target_options, run
from nas.counting import count
from nas.errors import NasError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nas-inspect", description="Show an architecture's layers, cost, table latency and proxy score.")
    add_target_options(parser)
    parser.add_argument("--save", metavar="FILE", help="write the architecture as YAML")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--device", action="append", default=[], help="add table latency for this device (repeatable)")
    parser.add_argument("--proxy", help="score with this proxy ('default' = nas-search's default)")
    parser.add_argument("--data", help="data for data-dependent proxies: cifar10:PATH, imagefolder:PATH, synthetic")
    parser.add_argument("--supernet", metavar="DIR", help="trained supernet folder for --proxy supernet (nas-supernet train)")
    parser.add_argument("--seed", type=int, default=0, help="seed for proxies")
    parser.add_argument("--list", action="store_true", help="list registered spaces, blocks, devices and proxies")
    return parser


def _list() -> int:
    from nas.blocks import BLOCKS
    from nas.devices import DEVICES
    from nas.proxies import PROXIES
    from nas.space import SPACES

    for title, registry in (("search spaces", SPACES), ("blocks", BLOCKS), ("devices", DEVICES), ("proxies", PROXIES)):
        print(f"{title}:")
        for reg in registry.registrations():
            print(f"  {reg.name:<18} {reg.origin}")
    return 0


def _main(args: argparse.Namespace) -> int:
    if args.list:
        return _list()
    if not args.target:
        raise NasError("give a TARGET: a space name, a YAML file or an arch string (or --list)")
    from nas.target import load_target

    arch, _ = load_target(args.target, width=args.width, resolution=args.resolution, num_classes=args.num_classes, sample=args.sample)
    report = count(arch)
    result: dict[str, Any] = {
        "name": arch.name,
        "arch": arch.to_string(),
        "resolution": arch.resolution,
        "num_classes": arch.num_classes,
        "params": report.params,
        "macs": report.macs,
        "layers": [
            {
                "name": row.name,
                "type": row.type,
                "block": row.token,
                "in_shape": list(row.in_shape),
                "out_shape": list(row.out_shape),
                "params": row.params,
                "macs": row.macs,
            }
            for row in report.layers
        ],
        "share_by_type": {k: {"macs": m, "params": p} for k, (m, p) in report.share_by_type().items()},
        "macs_by_kind": report.share_by_kind(),
    }
    predictions = {}
    if args.device:
        from nas.devices import get_device
        from nas.latency.backends.analytic import fill_modelled
        from nas.latency.host import host_mismatch
        from nas.latency.profile import arch_jobs

        result["latency_ms"], result["latency_source"], result["latency_breakdown"] = {}, {}, {}
        for name in args.device:
            device = get_device(name)
            table = device.load_table()
            fill_modelled(table, arch_jobs(arch, table.precision))  # modelled devices price any op on demand
            prediction = table.predict(arch)
            predictions[name] = (prediction, table)
            result["latency_ms"][name] = prediction.latency_ms
            result["latency_source"][name] = table.source
            result.setdefault("latency_host_warning", {})[name] = host_mismatch(table.header, device=name)
            result["latency_breakdown"][name] = [{"layer": layer, "key": key, "ms": ms} for layer, key, ms in prediction.breakdown]
    if args.proxy:
        from nas.proxies import get_proxy
        from nas.proxies import DEFAULT_PROXY

        proxy = get_proxy(args.proxy, supernet=args.supernet)
        data = None
        if args.data or proxy.needs_data:
            from nas.proxies import load_data

            data = load_data(args.data or "synthetic")
        proxy.prepare(data=data)
        outcome = proxy.evaluate(arch, seed=args.seed, data=data)
        result["proxy"] = outcome.score
        result["proxy_name"] = proxy.name if args.proxy != "default" else f"{DEFAULT_PROXY} (default)"
        result["proxy_seconds"] = outcome.seconds
    if args.save:
        from nas.io import atomic_write_text

        atomic_write_text(args.save, arch.to_yaml())
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
    else:
        _print_table(result, report, predictions)
    return 0


def _print_table(result: dict[str, Any], report: Any, predictions: dict[str, Any]) -> None:
    print(f"{result['name']}  ({result['resolution']}x{result['resolution']}, {result['num_classes']} classes)")
    print(f"  {result['arch']}")
    names = list(predictions)
    header = f"{'layer':<11}{'block':<34}{'in':>15}{'out':>15}{'params':>11}{'MMACs':>10}" + "".join(f"{n + ' ms':>12}" for n in names)
    print(header)
    print("-" * len(header))
    per_layer = {n: {layer: ms for layer, _, ms in p.breakdown} for n, (p, _) in predictions.items()}
    for layer in report.layers:
        shape_in = "x".join(map(str, layer.in_shape))
        shape_out = "x".join(map(str, layer.out_shape))
        row = f"{layer.name:<11}{layer.token[:33]:<34}{shape_in:>15}{shape_out:>15}{layer.params:>11,}{layer.macs / 1e6:>10.2f}"
        row += "".join(f"{per_layer[n][layer.name]:>12.3f}" for n in names)
        print(row)
    print("-" * len(header))
    total = f"{'total':<75}{report.params:>11,}{report.macs / 1e6:>10.2f}" + "".join(
        f"{predictions[n][0].latency_ms:>12.3f}" for n in names
    )
    print(total)
    print("\nshare by layer type (MACs / params):")
    for kind, (macs, params) in sorted(report.share_by_type().items(), key=lambda kv: -kv[1][0]):
        print(f"  {kind:<12}{macs:>8.1%}{params:>8.1%}")
    print("share of MACs by primitive:")
    for kind, share in report.share_by_kind().items():
        print(f"  {kind:<14}{share:>8.1%}")
    from nas.latency.host import host_mismatch

    for name, (prediction, table) in predictions.items():
        note = " (MODELLED, not measured)" if table.source == "modelled" else ""
        print(f"latency on {name}: {prediction.latency_ms:.3f} ms from a {table.source} table{note}: {table.path}")
        mismatch = host_mismatch(table.header, device=name)
        if mismatch:
            print(f"WARNING: {mismatch}")
    if "proxy" in result:
        print(f"proxy {result['proxy_name']}: {result['proxy']:.6g} ({result['proxy_seconds']:.2f} s)")


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
