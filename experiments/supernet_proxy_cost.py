"""What one candidate costs the ``supernet`` proxy on this host (wall clock and CPU time), per space.

    taskset -c 0 python -m experiments.supernet_proxy_cost --spaces nas_bench_macro mobiledet_cifar --n 12

The cost does not depend on how well the supernet is trained, so an untrained one is timed, on synthetic
32-px images (5,000 training images, 10 classes; the proxy's default budget: BatchNorm recalibrated on
2 × 64 training images, top-1 on 500 validation images). The first candidate, which also prepares the
validation tensors, is reported apart. One torch thread. Prints a markdown table; ``--split`` adds, per
space, where a candidate's time goes (median seconds of each part over the same candidates).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace

import numpy as np
import torch

from nas.counting import count
from nas.proxies import get_proxy
from nas.proxies.data import synthetic_data
from nas.proxies.supernet import _EVAL_CHUNK
from nas.space import get_space
from nas.supernet import Supernet
from nas.supernet.calibrate import fold_batch_norm, recalibrate_bn
from nas.supernet.checkpoint import save_supernet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spaces", nargs="+", default=["nas_bench_macro", "mobiledet_cifar"])
    parser.add_argument("--n", type=int, default=12)
    parser.add_argument("--split", action="store_true", help="also time the parts of a candidate's score")
    args = parser.parse_args()
    torch.set_num_threads(1)
    splits: dict[str, dict[str, float]] = {}
    data = synthetic_data(n_train=5000, n_val=500, num_classes=10, size=32)
    print("| space | candidates | first (s) | wall median [range] (s) | CPU median (s) | MMACs median |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in args.spaces:
        space = get_space(name).scaled(num_classes=10)
        with tempfile.TemporaryDirectory() as folder:
            save_supernet(
                folder, supernet=Supernet(space=space), data=data, validation={"fraction": 0.1, "seed": 0}, sampling={}, training={}
            )
            proxy = get_proxy("supernet", supernet=folder)
            proxy.prepare(space=space, data=data)
            walls, cpus, macs = [], [], []
            for seed in range(args.n + 1):
                arch = space.random(seed)
                cpu = time.process_time()
                walls.append(proxy.evaluate(arch, seed=0, data=data).seconds)
                cpus.append(time.process_time() - cpu)
                macs.append(count(arch).macs / 1e6)
            if args.split:
                splits[name] = split_times(proxy, [space.random(seed) for seed in range(1, args.n + 1)], data=data)
        rest = walls[1:]
        print(
            f"| {name} | {args.n} | {walls[0]:.2f} | {np.median(rest):.2f} [{min(rest):.2f}, {max(rest):.2f}] | "
            f"{np.median(cpus[1:]):.2f} | {np.median(macs[1:]):.0f} |"
        )
    if splits:
        print("\n| space | cut out of the supernet (s) | BN recalibration (s) | BN folding (s) | validation pass (s) |")
        print("| --- | --- | --- | --- | --- |")
        for name, parts in splits.items():
            print(f"| {name} | " + " | ".join(f"{parts[part]:.3f}" for part in PARTS) + " |")
    print(f"\nload average at the end: {open('/proc/loadavg').read().split()[0]}")


PARTS = ("extract", "recalibrate", "fold", "validate")


def split_times(proxy, archs, *, data) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Median seconds of each part of the proxy's score (``SupernetProxy.score``'s steps, timed one by one)."""
    calibration, val_x, _ = proxy._data(data, 0)  # the cached seed-0 inputs, already made by the timed loop
    times: dict[str, list[float]] = {part: [] for part in PARTS}
    for arch in archs:
        marks = [time.perf_counter()]
        network = proxy._supernet.extract(replace(arch, num_classes=proxy._supernet.num_classes))
        marks.append(time.perf_counter())
        recalibrate_bn(network, calibration)
        marks.append(time.perf_counter())
        network = fold_batch_norm(network)
        marks.append(time.perf_counter())
        with torch.inference_mode():
            for start in range(0, len(val_x), _EVAL_CHUNK):
                network(val_x[start : start + _EVAL_CHUNK])
        marks.append(time.perf_counter())
        for part, begin, end in zip(PARTS, marks, marks[1:]):
            times[part].append(end - begin)
    return {part: float(np.median(values)) for part, values in times.items()}


if __name__ == "__main__":
    main()
