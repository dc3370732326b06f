"""What one candidate costs the ``supernet`` proxy on this host (wall clock and CPU time), per space.

    taskset -c 0 python -m experiments.supernet_proxy_cost --spaces nas_bench_macro mobiledet_cifar --n 12

The cost does not depend on how well the supernet is trained, so an untrained one is timed, on synthetic
32-px images (5,000 training images, 10 classes; the proxy's default budget: BatchNorm recalibrated on
2 × 64 training images, top-1 on 500 validation images). The first candidate, which also prepares the
validation tensors, is reported apart. One torch thread. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch

from nas.counting import count
from nas.proxies import get_proxy
from nas.proxies.data import synthetic_data
from nas.space import get_space
from nas.supernet import Supernet
from nas.supernet.checkpoint import save_supernet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spaces", nargs="+", default=["nas_bench_macro", "mobiledet_cifar"])
    parser.add_argument("--n", type=int, default=12)
    args = parser.parse_args()
    torch.set_num_threads(1)
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
        rest = walls[1:]
        print(
            f"| {name} | {args.n} | {walls[0]:.2f} | {np.median(rest):.2f} [{min(rest):.2f}, {max(rest):.2f}] | "
            f"{np.median(cpus[1:]):.2f} | {np.median(macs[1:]):.0f} |"
        )
    print(f"\nload average at the end: {open('/proc/loadavg').read().split()[0]}")


if __name__ == "__main__":
    main()
