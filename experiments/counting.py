"""Analytic params / MACs of the reference networks next to the papers' figures.

python -m experiments.counting        # writes experiments/results/counting.md
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

from experiments._lib.data import BENCH
from nas.counting import count
from nas.space import get_space

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    rows = []

    def add(label: str, arch, paper_macs: float, paper_params: float | None) -> None:
        report = count(arch)
        params = f"{report.params / 1e6:.2f} (paper {paper_params})" if paper_params else f"{report.params:,}"
        rows.append(
            f"| {label} | {report.macs / 1e6:.1f} | {paper_macs} | {(report.macs / 1e6 / paper_macs - 1) * 100:+.2f} % | {params} |"
        )

    for width, macs, params in ((1.0, 569, 4.2), (0.75, 325, 2.6), (0.5, 149, 1.3), (0.25, 41, 0.5)):
        add(f"MobileNetV1 α={width}, 224", get_space("mobilenet_v1", width=width).arch(), macs, params)
    for resolution, macs in ((192, 418), (160, 290), (128, 186)):
        add(f"MobileNetV1 α=1.0, {resolution}", get_space("mobilenet_v1", resolution=resolution).arch(), macs, 4.2)
    v1 = get_space("mobilenet_v1").arch()
    add("full-convolution MobileNet, 224", replace(v1, blocks=tuple(replace(b, type="conv") for b in v1.blocks)), 4866, 29.3)
    add("MobileNetV2 1.0, 224", get_space("mobilenet_v2").arch(), 300, None)
    add("MobileNetV2 0.5, 224", get_space("mobilenet_v2", width=0.5).arch(), 97, None)
    share = count(v1).share_by_kind()["conv1x1"]
    lines = [
        "| network | MMACs (ours) | MMACs (paper) | diff | params M |",
        "| --- | --- | --- | --- | --- |",
        *rows,
        "",
        f"MobileNetV1 1.0-224: 1×1 convolutions carry {share:.2%} of MACs (paper Table 2: 94.86 %).",
    ]
    if BENCH.exists():
        data = json.loads(BENCH.read_text())
        space = get_space("nas_bench_macro")
        names = list(space.parameters)
        equal = sum(
            (r.params, r.macs) == (v["params"], v["flops"]) for key, v in data.items() for r in [count(space.arch(dict(zip(names, key))))]
        )
        lines.append(f"NAS-Bench-Macro: {equal} of {len(data)} keys have exactly the benchmark's params and FLOPs.")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "counting.md").write_text("\n".join(lines) + "\n")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
