"""Independent or multivariate TPE for the main job: which finds the better network in 200 trials, and how fast?

    python -m experiments.tpe_multivariate [--seeds 0 1 2] [--trials 200]

Question: Optuna's TPE samples each parameter on its own by default. A block space's 109 parameters are not
independent (a block type's keys only exist together), and independent TPE splits and scores every past trial
once per parameter. Does sampling them jointly (``multivariate=True,
group=True``, ``nas.study.study.TPE_OPTIONS``) find better networks, at what cost? Method: the
``experiments.search_quality`` run (mobiledet at 224 px, the dsp table, the default proxy, the budget of
MobileNetV2-1.0's latency) with the ``tpe`` sampler, once with Optuna's default options and once with the
framework's, per seed. Margin = best proxy within the budget minus the best MobileNetV2-α reference's
(> 0: the search beat every reference). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import warnings

import optuna

import nas.study.study as study_module
from experiments import search_quality
from nas.proxies import DEFAULT_PROXY


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--device", default="dsp")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    run_args = argparse.Namespace(device=args.device, trials=args.trials, proxy=DEFAULT_PROXY)
    variants = {"independent (Optuna's default)": {}, "multivariate, group (the framework's)": dict(study_module.TPE_OPTIONS)}
    print("| TPE | margin, median (per seed) | beats every reference | seconds, median (per seed) |")
    print("|---|---|---|---|")
    for label, options in variants.items():
        study_module.TPE_OPTIONS = options  # make_sampler reads it at each call
        runs = [search_quality.run("tpe", seed, run_args) for seed in args.seeds]
        margins = [r["margin"] for r in runs]
        seconds = [r["seconds"] for r in runs]
        print(
            f"| {label} | {statistics.median(margins):+.4f} ({', '.join(f'{m:+.4f}' for m in margins)}) | "
            f"{sum(m > 0 for m in margins)} of {len(margins)} | {statistics.median(seconds):.0f} ({', '.join(f'{s:.0f}' for s in seconds)}) |",
            flush=True,
        )


if __name__ == "__main__":
    main()
