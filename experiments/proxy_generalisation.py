"""Do the proxies hold outside NAS-Bench-Macro? Their ranking of the CIFAR experiment's trained networks.

    taskset -c 1 python experiments/proxy_generalisation.py       # ~1 min

The only trained networks of another MobileNet-style space here are those of
experiments/cifar_search_vs_mobilenetv2.py: the MobileNetV2-α references and the networks the search
found in ``mobiledet_cifar`` (width, Tucker and fused choices), trained with 3 seeds at half an epoch
(results/cifar_search.json) and, for the ones that finished, at 6 epochs on a GPU
(results/cifar_gpu.json). They are not a random sample of the space: they are what a search picks,
which is where a proxy has to be right. Spearman of each proxy and of FLOPs with mean top-1.
Writes experiments/results/proxy_generalisation.{json,md}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
from scipy import stats

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from nas import ArchSpec  # noqa: E402
from nas.io import atomic_write_text  # noqa: E402
from nas.proxies import get_proxy  # noqa: E402

RESULTS = HERE / "results"
PROXIES = ("default", "naswot", "zen", "synflow", "depth", "macs", "params")


def ground_truths() -> dict[str, dict[str, float]]:
    """Mean top-1 per network for each schedule that trained at least three networks."""
    cpu = json.loads((RESULTS / "cifar_search.json").read_text())
    truths = {"0.51 epoch (cpu, 3 seeds)": {r["net"]: r["top1_mean"] for r in cpu["rows"] if r["top1_mean"] is not None}}
    gpu_file = RESULTS / "cifar_gpu.json"
    if gpu_file.exists():
        gpu = json.loads(gpu_file.read_text())
        trained = {net: e["top1_mean"] for net, e in gpu["searched"].items()}
        if len(trained) >= 3:
            truths[f"{gpu['meta']['epochs']['searched']} epochs (GPU, 1-3 seeds)"] = trained
    return truths


def main() -> None:
    torch.set_num_threads(1)
    archs = {r["net"]: ArchSpec.from_string(r["arch"]) for r in json.loads((RESULTS / "cifar_search.json").read_text())["rows"]}
    scores = {name: {net: get_proxy(name).evaluate(arch, seed=0).score for net, arch in archs.items()} for name in PROXIES}
    report = {"proxies": list(PROXIES), "scores": scores, "schedules": {}}
    for schedule, truth in ground_truths().items():
        nets = [n for n in truth if n in archs]
        report["schedules"][schedule] = {
            "n": len(nets),
            "top1": {n: truth[n] for n in nets},
            "spearman": {p: float(stats.spearmanr([scores[p][n] for n in nets], [truth[n] for n in nets])[0]) for p in PROXIES},
        }
    atomic_write_text(RESULTS / "proxy_generalisation.json", json.dumps(report, indent=1))
    atomic_write_text(RESULTS / "proxy_generalisation.md", markdown(report))
    print(markdown(report))


def markdown(report: dict) -> str:
    lines = ["Spearman with trained CIFAR-10 top-1 of the CIFAR experiment's networks (MobileNetV2-α references and "
             "`mobiledet_cifar` networks found by the search)", "",
             "| schedule | n | " + " | ".join(report["proxies"]) + " |", "|---|---|" + "---|" * len(report["proxies"])]
    for schedule, entry in report["schedules"].items():
        lines.append(f"| {schedule} | {entry['n']} | " + " | ".join(f"{entry['spearman'][p]:+.2f}" for p in report["proxies"]) + " |")
    lines += ["", "| network | " + " | ".join(report["proxies"]) + " | " + " | ".join(report["schedules"]) + " |",
              "|---|" + "---|" * (len(report["proxies"]) + len(report["schedules"]))]
    for net in report["scores"]["default"]:
        cells = [f"{report['scores'][p][net]:.4g}" for p in report["proxies"]]
        cells += [f"{e['top1'][net]:.2f}" if net in e["top1"] else "—" for e in report["schedules"].values()]
        lines.append(f"| {net} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
