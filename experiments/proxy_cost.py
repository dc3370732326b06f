"""What one proxy evaluation costs on the candidates a default search scores: 224-px mobiledet networks.

    python -m experiments.proxy_cost            # ~1 min

Each zero-cost proxy scores a candidate at 32×32 (``ZeroCostProxy.resolution``); the issue's budget is
0.5 s per evaluation on this 2-core machine. Wall-clock seconds per evaluation (``ProxyResult.seconds``,
model construction included) over the same ``--n`` random mobiledet candidates, with torch using 1 and
2 threads. Writes experiments/results/proxy_cost.{json,md}.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from nas.io import atomic_write_text
from nas.proxies import get_proxy
from nas.space import get_space

HERE = Path(__file__).resolve().parent

PROXIES = ("ensemble", "naswot", "swap", "synflow", "zen", "grad_norm", "snip", "zico")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=12, help="random mobiledet candidates")
    args = parser.parse_args()
    space = get_space("mobiledet")
    archs = [space.random(seed) for seed in range(args.n)]
    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for name in PROXIES:
            proxy = get_proxy(name)
            proxy.evaluate(archs[0], seed=0)  # warm-up: imports, allocator
            seconds = [proxy.evaluate(arch, seed=0).seconds for arch in archs]
            rows.append(
                {
                    "proxy": name,
                    "threads": threads,
                    "median_s": float(np.median(seconds)),
                    "max_s": float(np.max(seconds)),
                    "over_budget": int(sum(s > 0.5 for s in seconds)),
                }
            )
    lines = [
        f"Seconds per evaluation on {args.n} random 224-px mobiledet candidates (scored at 32×32), wall clock",
        "",
        "| proxy | threads | median s | max s | over 0.5 s |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {r['proxy']} | {r['threads']} | {r['median_s']:.3f} | {r['max_s']:.3f} | {r['over_budget']} of {args.n} |" for r in rows]
    atomic_write_text(HERE / "results" / "proxy_cost.json", json.dumps({"n": args.n, "rows": rows}, indent=1))
    atomic_write_text(HERE / "results" / "proxy_cost.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
