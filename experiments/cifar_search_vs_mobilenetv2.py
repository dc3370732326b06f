"""Searched networks vs MobileNetV2-α on CIFAR-10 at equal device latency (MobileDets' claim, at CIFAR scale).

    python -m experiments.cifar_search_vs_mobilenetv2                 # the README's table (~2 h on 2 cores)
    python -m experiments.cifar_search_vs_mobilenetv2 --quick         # smoke run: 1 seed, 30 steps, 40 trials

1. Latency targets: the table latency of ``mobilenet_v2_cifar`` (MobileNetV2 with the stem and the
   second stage at stride 1) at α ∈ {0.35, 0.5, 0.75} on each device's shipped table.
2. ``nas-search --space mobiledet_cifar --device D --objective constrained --latency-target T`` as a
   real subprocess with the default proxy (or ``--proxy``), for cpu, dsp and edgetpu.
3. The found networks of the trained devices (``--train-devices``) and the MobileNetV2 references are
   trained with the same short schedule and seeds 0, 1, 2; top-1 on the 10,000 CIFAR-10 test images.
   ``--steps N`` (e.g. 4× longer, on α 0.35 only) checks that the ranking is not an artefact of the
   short schedule; its results go to results/cifar_search_steps<N>.*.
4. cpu: the found networks and the references are exported to ONNX and timed end to end with
   onnxruntime (one thread, as the table), after the training, on a quiet machine.
5. Cross-device table: every found network priced on every device's table.

Results: experiments/results/cifar_search.{json,md,png}. Searches and finished training runs are cached
under experiments/cache/cifar/, so an interrupted run continues where it stopped.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np

from experiments._lib.cifar_train import CACHE, finish_training, start_training, training_job
from nas import ArchSpec, count, get_device, get_space
from nas.io import atomic_write_text

HERE = Path(__file__).resolve().parent

RESULTS = HERE / "results"
SPACE, REFERENCE = "mobiledet_cifar", "mobilenet_v2_cifar"


# -- search ------------------------------------------------------------------------------------------
def search(device: str, width: float, target_ms: float, args: argparse.Namespace) -> ArchSpec:
    """One constrained ``nas-search`` in a subprocess (resumes a finished or interrupted study)."""
    out = CACHE / f"search-{device}-{width:g}-{args.trials}-{proxy_identity(args.proxy)}"
    proxy = [] if args.proxy == "default" else ["--proxy", args.proxy]
    command = [
        shutil.which("nas-search") or "nas-search",
        "--space",
        SPACE,
        "--device",
        device,
        "--objective",
        "constrained",
        *proxy,
        "--latency-target",
        f"{target_ms:.6f}",
        "--trials",
        str(args.trials),
        "--seed",
        "0",
        "--out",
        str(out),
        "--storage",
        str(out / "study.journal"),
        "--no-progress",
    ]  # journal: ~3 ms per trial record instead of SQLite's ~60
    # one proxy thread: beside the training processes a 2-thread OpenMP pool spins and runs ~10x slower
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return ArchSpec.from_yaml((out / "best" / "arch.yaml").read_text())


def proxy_identity(name: str) -> str:
    """A cache tag that changes when the proxy does: the name, and for the ensemble a digest of its weights."""
    from nas.proxies import get_proxy

    proxy = get_proxy(name)
    weights = getattr(proxy, "weights", None)
    digest = hashlib.sha1(json.dumps(weights, sort_keys=True).encode()).hexdigest()[:8] if weights else ""
    return proxy.name + (f"-{digest}" if digest else "")


def structure(arch: ArchSpec) -> dict:
    """What a person compares between found networks: block types, kernels, expansions, widths."""
    blocks = [b for b in arch.blocks if b.type != "skip"]
    types = {t: sum(b.type == t for b in blocks) for t in ("ibn", "fused_ibn", "tucker", "separable", "conv")}
    return {
        "types": {t: n for t, n in types.items() if n},
        "skips": sum(b.type == "skip" for b in arch.blocks),
        "kernel5": sum(b.kernel == 5 for b in blocks),
        "expansion8": sum(getattr(b, "expansion", None) == 8 for b in blocks),
        "widths": [b.out for b in arch.blocks],
    }


DEFAULT_STEPS = 400  # 0.51 epoch: the whole experiment fits about 2 hours on this 2-core machine


# -- main --------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", nargs="+", default=["cpu", "dsp", "edgetpu"], help="devices to search for")
    parser.add_argument("--train-devices", nargs="+", default=["cpu", "dsp"], help="devices whose found networks are trained")
    parser.add_argument("--widths", type=float, nargs="+", default=[0.35, 0.5, 0.75])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--steps", type=int, default=DEFAULT_STEPS, help="SGD steps per training run (another value: results/cifar_search_steps<N>.*)"
    )
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--trials", type=int, default=1000, help="trials per search (NSGA-II needs ~400 to reach the α=0.35 budget)")
    parser.add_argument("--processes", type=int, default=2, help="training runs in parallel (one thread each)")
    parser.add_argument("--deadline", type=float, default=None, help="stop training after this many minutes and report what finished")
    parser.add_argument(
        "--proxy",
        default="default",
        help="proxy the searches maximise (e.g. macs: is the proxy the cause?); results then go to results/cifar_search_<proxy>.*",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 seed, 30 steps, 40 trials, results/cifar_search_quick.*")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.steps, args.trials = [0], 30, 40
    tag = (
        ("cifar_search_quick" if args.quick else "cifar_search")
        + ("" if args.proxy == "default" else f"_{args.proxy}")
        + ("" if args.quick or args.steps == DEFAULT_STEPS else f"_steps{args.steps}")
    )

    tables = {d: get_device(d).load_table() for d in args.devices}
    refs = {w: get_space(REFERENCE, width=w).arch(name=f"MobileNetV2-{w:g}") for w in args.widths}
    targets = {d: {w: tables[d].latency(refs[w]) for w in args.widths} for d in args.devices}

    def jobs_for(nets: dict[str, ArchSpec], seeds: list[int]) -> list[dict]:
        return [
            training_job(name, arch, seed=seed, steps=args.steps, batch=args.batch, lr=args.lr)
            for seed in seeds
            for name, arch in nets.items()
        ]

    # Seed-major order: every network gets its first seed before any gets its second, so that a
    # --deadline cut leaves every network trained at least once (a rerun adds the missing seeds).
    deadline = None if args.deadline is None else time.time() + 60 * args.deadline
    nets = {f"MobileNetV2-{w:g}": refs[w] for w in args.widths}
    with multiprocessing.get_context("spawn").Pool(args.processes) as pool:
        pending = start_training(pool, jobs_for(nets, args.seeds))  # the references train while the searches run
        found: dict[tuple[str, float], ArchSpec] = {}
        first_devices = [d for d in args.devices if d in args.train_devices]
        for d in first_devices + [d for d in args.devices if d not in args.train_devices]:
            for w in args.widths:
                t0 = time.perf_counter()
                found[d, w] = search(d, w, targets[d][w], args).with_name(f"{d}-{w:g}")
                print(
                    f"search {d} α={w:g}: target {targets[d][w]:.4f} ms, found {tables[d].latency(found[d, w]):.4f} ms "
                    f"({time.perf_counter() - t0:.0f} s)",
                    flush=True,
                )
                if d in args.train_devices:  # its first seed trains while the next search runs
                    nets[f"{d}-{w:g}"] = found[d, w]
                    pending += start_training(pool, jobs_for({f"{d}-{w:g}": found[d, w]}, args.seeds[:1]))
            if d == first_devices[-1]:
                searched = {name: arch for name, arch in nets.items() if not name.startswith("MobileNetV2")}
                pending += start_training(pool, jobs_for(searched, args.seeds[1:]))
        runs = finish_training(pending, deadline=deadline)
        pool.terminate()  # runs still going at the deadline are dropped (not cached)
    measured = measure_cpu(found, refs, args) if "cpu" in args.devices else {}  # after training: a quiet machine
    accuracy = {name: [r["top1"] for r in runs if r["net"] == name and r.get("top1") is not None] for name in nets}

    report = build_report(args, tables, refs, targets, found, nets, accuracy, runs, measured)
    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(RESULTS / f"{tag}.json", json.dumps(report, indent=1))
    atomic_write_text(RESULTS / f"{tag}.md", markdown(report))
    plot(report, RESULTS / f"{tag}.png")
    print(markdown(report))


def measure_cpu(found: dict, refs: dict, args: argparse.Namespace) -> dict[str, dict]:
    """End-to-end onnxruntime latency (one thread, as the table) of the cpu networks and the references."""
    from nas.latency.validate import measure_archs

    nets = {f"MobileNetV2-{w:g}": refs[w] for w in args.widths} | {f"cpu-{w:g}": found["cpu", w] for w in args.widths}
    results = measure_archs(list(nets.values()), precision="fp32", rounds=10, runs_per_round=30)
    return {name: m.to_dict() for name, m in zip(nets, results)}


def build_report(args, tables, refs, targets, found, nets, accuracy, runs, measured) -> dict:  # type: ignore[no-untyped-def]
    def stats(name: str) -> dict:
        values = accuracy.get(name, [])
        return {
            "top1_mean": float(np.mean(values)) if values else None,
            "top1_std": float(np.std(values, ddof=1)) if len(values) > 1 else None,
            "top1_runs": values,
            "n": len(values),
        }

    from nas.proxies import get_proxy

    proxy = get_proxy(args.proxy)  # what the search maximised: does it agree with the trained accuracy?
    rows = []
    for name, arch in nets.items():
        cost = count(arch)
        row = {
            "net": name,
            "params": cost.params,
            "macs": cost.macs,
            **stats(name),
            "proxy": proxy.evaluate(arch, seed=0).score,
            "latency_ms": {d: tables[d].latency(arch) for d in tables},
            "structure": structure(arch),
            "arch": arch.to_string(),
        }
        if name in measured:
            row["cpu_onnx_ms"] = measured[name]
        rows.append(row)
    cross = [
        {
            "net": f"{d}-{w:g}",
            "found_for": d,
            "width": w,
            "latency_ms": {e: tables[e].latency(found[d, w]) for e in tables},
            "target_ms": {e: targets[e][w] for e in tables},
            "structure": structure(found[d, w]),
            "macs": count(found[d, w]).macs,
            **stats(f"{d}-{w:g}"),
        }
        for d in args.devices
        for w in args.widths
    ]
    train_s = [r["train_s"] for r in runs if "train_s" in r]
    return {
        "settings": {k: v for k, v in vars(args).items()},
        "targets_ms": {d: {str(w): t for w, t in v.items()} for d, v in targets.items()},
        "table_source": {d: t.source for d, t in tables.items()},
        "rows": rows,
        "cross_device": cross,
        "train_s_median": float(np.median(train_s)) if train_s else None,
    }


def fmt(row: dict, seeds: int) -> str:
    """mean ± std over seeds; (n=k) when fewer seeds than asked finished (a --deadline cut)."""
    if row["top1_mean"] is None:
        return "—"
    text = f"{row['top1_mean']:.2f} ± {row['top1_std']:.2f}" if row["top1_std"] is not None else f"{row['top1_mean']:.2f}"
    return text if row["n"] >= seeds else f"{text} (n={row['n']})"


def markdown(report: dict) -> str:
    s = report["settings"]
    rows = {r["net"]: r for r in report["rows"]}
    lines = [
        f"Schedule: {s['steps']} SGD steps of batch {s['batch']} ({s['steps'] * s['batch']:,} images, "
        f"{s['steps'] * s['batch'] / 50000:.2f} epoch), lr {s['lr']} warm-up + cosine, crop + flip; seeds {s['seeds']}; "
        f"top-1 on the 10,000 test images. Search: {s['trials']} trials, proxy `{s.get('proxy', 'default')}`, constrained objective.",
        "",
    ]
    for device in s["train_devices"]:
        lines += [
            f"**{device}** ({report['table_source'][device]} table)",
            "",
            "| α | target ms | MobileNetV2-α top-1 | searched top-1 | Δ | searched table ms | MACs (ref / searched) | proxy (ref / searched) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for w in s["widths"]:
            ref, got = rows[f"MobileNetV2-{w:g}"], rows[f"{device}-{w:g}"]
            delta = got["top1_mean"] - ref["top1_mean"] if got["top1_mean"] is not None and ref["top1_mean"] is not None else None
            lines.append(
                f"| {w:g} | {report['targets_ms'][device][str(w)]:.4f} | {fmt(ref, len(s['seeds']))} | "
                f"{fmt(got, len(s['seeds']))} | {'—' if delta is None else f'{delta:+.2f}'} | "
                f"{got['latency_ms'][device]:.4f} | {ref['macs'] / 1e6:.1f}M / {got['macs'] / 1e6:.1f}M | {ref['proxy']:.4g} / {got['proxy']:.4g} |"
            )
        lines.append("")
    timed = [r for r in report["rows"] if "cpu_onnx_ms" in r]
    if timed:
        lines += [
            "**cpu, end to end** (onnxruntime, 1 thread, whole network vs table prediction)",
            "",
            "| network | table ms | measured ms (p10–p90) | error |",
            "|---|---|---|---|",
        ]
        for r in timed:
            m = r["cpu_onnx_ms"]
            lines.append(
                f"| {r['net']} | {r['latency_ms']['cpu']:.4f} | {m['median_ms']:.4f} ({m['p10_ms']:.4f}–{m['p90_ms']:.4f}) | "
                f"{100 * (r['latency_ms']['cpu'] / m['median_ms'] - 1):+.1f} % |"
            )
        lines.append("")
    devices = list(report["table_source"])
    lines += [
        "**Cross-device**: each found network on every table, as a fraction of that device's target (MobileNetV2-α latency)",
        "",
        "| found for | " + " | ".join(devices) + " | top-1 | blocks | k5 | e8 | MACs |",
        "|---" * (len(devices) + 6) + "|",
    ]
    for c in report["cross_device"]:
        cells = " | ".join(f"{c['latency_ms'][d] / c['target_ms'][d]:.2f}" for d in devices)
        types = ", ".join(f"{t} {n}" for t, n in c["structure"]["types"].items()) + f", skip {c['structure']['skips']}"
        lines.append(
            f"| {c['net']} | {cells} | {fmt(c, len(s['seeds']))} | {types} | {c['structure']['kernel5']} | "
            f"{c['structure']['expansion8']} | {c['macs'] / 1e6:.1f}M |"
        )
    return "\n".join(lines) + "\n"


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    devices = report["settings"]["train_devices"]
    fig, axes = plt.subplots(1, len(devices), figsize=(5.5 * len(devices), 4.2), squeeze=False)
    rows = {r["net"]: r for r in report["rows"]}
    for ax, device in zip(axes[0], devices):
        for prefix, style, label in (("MobileNetV2-", "s--", "MobileNetV2-α"), (f"{device}-", "o-", f"searched for {device}")):
            points = [
                (
                    rows[f"{prefix}{w:g}"]["latency_ms"][device],
                    rows[f"{prefix}{w:g}"]["top1_mean"],
                    rows[f"{prefix}{w:g}"]["top1_std"] or 0.0,
                )
                for w in report["settings"]["widths"]
                if rows[f"{prefix}{w:g}"]["top1_mean"] is not None
            ]
            if points:
                x, y, e = zip(*points)
                ax.errorbar(x, y, yerr=e, fmt=style, capsize=3, label=label)
        ax.set_xlabel(f"{device} table latency (ms, {report['table_source'][device]})")
        ax.set_ylabel("CIFAR-10 top-1 (%)")
        ax.set_title(f"{device}: searched vs MobileNetV2-α")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
