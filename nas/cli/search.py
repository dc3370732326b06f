"""``nas-search``: search a space for a device, keep the study, export the best architecture.

Rerunning the same command resumes the same study (its name is derived from the
settings, its storage is ``OUT/study.db``); ``--trials`` is the total the
study should hold, so ``--trials 20`` after a 10-trial run adds 10; several
commands (or hosts) sharing one ``--storage`` and ``--study-name`` stop together
at that total.
"""

from __future__ import annotations

import argparse
from typing import Sequence

from nas.cli._common import positive_float, positive_int, run


def build_parser() -> argparse.ArgumentParser:
    from nas.study.context import DEFAULT_TRIALS
    from nas.study.objectives import OBJECTIVES
    from nas.study.study import GRACE_FACTOR, HEARTBEAT_S, SAMPLERS

    parser = argparse.ArgumentParser(
        prog="nas-search",
        description="Search architectures trading an accuracy proxy against a device's table latency; export the best.",
    )
    parser.add_argument("--space", default="mobiledet", help="space name or space YAML [mobiledet]")
    parser.add_argument("--device", default="cpu", help="target device, or a latency table YAML (its table prices each candidate) [cpu]")
    parser.add_argument("--table", help="latency table YAML to price candidates with instead of the device's own (same precision)")
    parser.add_argument("--resolution", type=positive_int, help="input resolution [the space's]")
    parser.add_argument("--latency-target", type=positive_float, metavar="MS", help="latency budget in ms (turns the default objective into constrained)")
    parser.add_argument("--objective", choices=OBJECTIVES.names(), help="pareto (2 objectives), constrained, tunas, mnas [pareto; constrained with a target]")
    parser.add_argument("--beta", type=float, help="tunas β [-0.10] or mnas w [-0.07]")
    parser.add_argument("--proxy", default="default", help="accuracy proxy [default: nas.proxies.DEFAULT_PROXY]")
    parser.add_argument("--trials", type=positive_int, help=f"total finished trials the study should hold [{DEFAULT_TRIALS}]")
    parser.add_argument("--timeout", type=positive_float, metavar="S", help="stop starting trials after S seconds")
    parser.add_argument("--sampler", choices=sorted(SAMPLERS), default="nsga2", help="Optuna sampler [nsga2]")
    parser.add_argument("--population", type=positive_int, metavar="N",
                        help="NSGA-II population size [trials/10, between 10 and 50: about ten generations]")
    parser.add_argument("--seed", type=int, default=0, help="sampler and proxy seed [0]")
    parser.add_argument("--storage", help="Optuna storage: a *.journal file, sqlite:///FILE or postgresql://... [sqlite:///OUT/study.db]")
    parser.add_argument("--study-name", help="study name [derived from space, resolution, device, objective, proxy, target]")
    parser.add_argument("--workers", type=positive_int, default=1, help="local worker processes sharing the storage [1]")
    parser.add_argument("--heartbeat", type=positive_int, default=HEARTBEAT_S, metavar="S",
                        help=f"on database storages, a running trial's worker beats every S s; a trial silent for {GRACE_FACTOR}×S s is failed [{HEARTBEAT_S}]")
    parser.add_argument("--data", help="data for data-dependent proxies: cifar10:PATH, imagefolder:PATH, synthetic")
    parser.add_argument("--out", help="output folder [runs/SPACE-DEVICE]")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar and no summary table")
    return parser


def _main(args: argparse.Namespace) -> int:
    from nas.study import SearchContext, search

    context = SearchContext.create(
        space=args.space,
        device=args.device,
        table=args.table,
        resolution=args.resolution,
        latency_target_ms=args.latency_target,
        objective=args.objective,
        beta=args.beta,
        proxy=args.proxy,
        trials=args.trials,
        timeout=args.timeout,
        sampler=args.sampler,
        population=args.population,
        seed=args.seed,
        storage=args.storage,
        study_name=args.study_name,
        workers=args.workers,
        data=args.data,
        out=args.out,
        heartbeat=args.heartbeat,
    )
    search(context, progress=not args.no_progress)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
