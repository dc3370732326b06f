"""``python -m experiments``: list the benchmarks and studies; ``python -m experiments run NAME [ARGS]`` runs one.

Benchmarks measure the framework (counting, latency fidelity, search overhead and quality, proxy
correlation and cost, calibration, device effects) and each writes a deterministic result file
under experiments/results/. Studies ask research questions (CIFAR-10 training, the latency-band
checks); several need the workspace data folder (../shared/data) or a GPU. Each module's
docstring says its question, method and result file; ``python -m experiments.NAME`` runs it too.
"""

from __future__ import annotations

import ast
import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name → (kind, cost on this project's 2-core host as its docstring states it)
SCRIPTS: dict[str, tuple[str, str]] = {
    "counting": ("benchmark", "seconds"),
    "latency_fidelity": ("benchmark", "~30 min"),
    "search_overhead": ("benchmark", "minutes"),
    "main_job_time": ("benchmark", "about a minute"),
    "search_quality": ("benchmark", "hours"),
    "proxy_correlation": ("benchmark", "~20 min, needs NAS-Bench-Macro"),
    "proxy_cost": ("benchmark", "~1 min"),
    "proxy_equal_cost": ("benchmark", "~1 min, needs NAS-Bench-Macro"),
    "train_proxy_budget": ("benchmark", "~1.2 CPU h, banked runs reused"),
    "calibrate_devices": ("benchmark", "minutes, needs published_latency.csv"),
    "device_effects": ("benchmark", "seconds"),
    "host_table_check": ("benchmark", "~5-10 min per space, one core"),
    "device_model_honesty": ("benchmark", "~2 min, needs published_latency.csv"),
    "line_counts": ("benchmark", "seconds, needs git and ruff"),
    "int8_calibration": ("benchmark", "~15 min at --steps 100, needs CIFAR-10"),
    "proxy_tradeoff": ("study", "seconds, reads banked results"),
    "proxy_generalisation": ("study", "~50 min, banked runs reused"),
    "proxy_vs_flops_heldout_band": ("study", "seconds, reads banked runs"),
    "cifar_search_vs_mobilenetv2": ("study", "~2 h, needs CIFAR-10"),
    "cifar_train_gpu": ("study", "GPU host, needs CIFAR-10"),
    "cifar_gpu_report": ("study", "minutes, reads runs files"),
    "gpu_schedule_check": ("study", "~25 min"),
    "train_cifar": ("study", "~4 h on one core, banked runs reused, resumable, needs CIFAR-10"),
    "supernet_macro": (
        "study",
        "~25 min training per run at 32 px on one core (5 SPOS epochs or 1 sandwich epoch), + ~5 min scoring per half; "
        "needs CIFAR-10 and NAS-Bench-Macro",
    ),
    "supernet_regret": ("study", "minutes per proxy (scores cached per key); needs NAS-Bench-Macro, and CIFAR-10 for the supernet"),
    "supernet_proxy_cost": ("benchmark", "minutes"),
    "timing_rule_check": ("benchmark", "~2 min, one core"),
    "op_timing_check": ("benchmark", "~1 min at --ops 40, one core"),
    "deploy_cifar": ("benchmark", "~2 min per banked run, needs CIFAR-10 and train_cifar's runs"),
    "init_from_supernet": ("study", "~25 CPU min, needs CIFAR-10"),
}


def summary(name: str) -> str:
    """The first line of a script's docstring, read without importing it."""
    doc = ast.get_docstring(ast.parse((HERE / f"{name}.py").read_text(encoding="utf-8"))) or ""
    return doc.splitlines()[0] if doc else ""


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "list"):
        for kind, heading in (("benchmark", "benchmarks:"), ("study", "studies:")):
            print(heading)
            for name, (k, cost) in SCRIPTS.items():
                if k == kind:
                    print(f"  {name:<30} {cost:<40} {summary(name)}")
        print("\nrun one: python -m experiments run NAME [ARGS]   (or python -m experiments.NAME [ARGS])")
        return 0
    if argv[0] != "run" or len(argv) < 2 or argv[1] not in SCRIPTS:
        known = ", ".join(SCRIPTS)
        print(f"usage: python -m experiments [list | run NAME [ARGS]]; NAME is one of: {known}", file=sys.stderr)
        return 2
    sys.argv = [f"experiments.{argv[1]}", *argv[2:]]
    runpy.run_module(f"experiments.{argv[1]}", run_name="__main__", alter_sys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
