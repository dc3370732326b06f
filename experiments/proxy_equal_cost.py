"""How well do proxies rank networks of about the same cost? (what a latency-constrained search needs)

    OMP_NUM_THREADS=1 python -m experiments.proxy_equal_cost     # about 1 min

A constrained search compares candidates that all sit near the latency budget, so the rank
correlation that matters is the one *within* an equal-cost slice, not over the whole benchmark
(where cost alone already explains much of the accuracy). The same 500 distinct NAS-Bench-Macro
networks as experiments/proxy_correlation.py (seed 0) are cut into 5 slices of 100 by FLOPs;
for each proxy the Spearman correlation with the trained accuracy is computed inside every slice.
Writes experiments/results/proxy_equal_cost.{json,md}.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import torch
from scipy import stats
from tqdm import tqdm

from experiments._lib.data import load_bench
from nas.io import atomic_write_text
from nas.proxies.ensemble import EnsembleProxy, member, member_score
from nas.space import get_space

HERE = Path(__file__).resolve().parent

SLICES = 5


def main() -> None:
    torch.set_num_threads(1)
    bench = load_bench()
    keys = random.Random(0).sample(sorted(bench), 500)
    space = get_space("nas_bench_macro")
    names = list(space.parameters)
    archs = {k: space.arch(dict(zip(names, k))) for k in keys}
    truth = {k: bench[k]["mean_acc"] for k in keys}
    # each network scored once per member; the default ensemble is combined from them
    needed = sorted({member(term) for term in EnsembleProxy.weights} | {"naswot", "depth"})
    members = {name: {k: member_score(name, archs[k]) for k in tqdm(keys, desc=name)} for name in needed}
    columns = {
        "ensemble (default)": EnsembleProxy.combine(EnsembleProxy.weights, members),
        "FLOPs": {k: bench[k]["flops"] for k in keys},
        "non-identity blocks": members["depth"],
        "naswot (noise)": members["naswot"],
    }
    ordered = sorted(keys, key=lambda k: bench[k]["flops"])
    slices = [ordered[i * len(ordered) // SLICES : (i + 1) * len(ordered) // SLICES] for i in range(SLICES)]
    seed_pairs = ((0, 1), (0, 2), (1, 2))
    rows = []
    for label, column in {**columns, "seed-to-seed ceiling": None}.items():
        per_slice = []
        for part in slices:
            if column is None:
                rho = np.mean(
                    [
                        stats.spearmanr([bench[k]["test_acc"][i] for k in part], [bench[k]["test_acc"][j] for k in part])[0]
                        for i, j in seed_pairs
                    ]
                )
            else:
                rho = stats.spearmanr([column[k] for k in part], [truth[k] for k in part])[0]
            per_slice.append(float(rho))
        whole = None if column is None else float(stats.spearmanr([column[k] for k in keys], [truth[k] for k in keys])[0])
        rows.append({"proxy": label, "all_500": whole, "slices": per_slice, "slice_median": float(np.median(per_slice))})
    bounds = [(bench[s[0]]["flops"] / 1e6, bench[s[-1]]["flops"] / 1e6) for s in slices]  # the benchmark stores FLOPs as counts
    result = {"networks": len(keys), "slices": SLICES, "flops_bounds_m": [[round(a, 1), round(b, 1)] for a, b in bounds], "rows": rows}
    lines = [
        f"Spearman with NAS-Bench-Macro mean accuracy, {len(keys)} networks, inside {SLICES} equal-FLOPs slices of {len(keys) // SLICES}",
        "",
        "| proxy | all 500 | " + " | ".join(f"{a:.0f}–{b:.0f} MFLOPs" for a, b in bounds) + " | median slice |",
        "|---" * (SLICES + 3) + "|",
    ]
    for row in rows:
        whole = "—" if row["all_500"] is None else f"{row['all_500']:.3f}"
        lines.append(
            f"| {row['proxy']} | {whole} | " + " | ".join(f"{r:.3f}" for r in row["slices"]) + f" | **{row['slice_median']:.3f}** |"
        )
    results = HERE / "results"
    atomic_write_text(results / "proxy_equal_cost.json", json.dumps(result, indent=1))
    atomic_write_text(results / "proxy_equal_cost.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
