"""``nas-train ARCH --data D --out DIR``: train one architecture; rerun the same command to resume it.

Under ``torchrun --nproc_per_node N`` each process takes ``--batch`` images per step (N × batch in all);
rank 0 writes the outputs. See ``nas.training.recipe`` for the recipe's defaults and why.
"""

from __future__ import annotations

import argparse
import os
from typing import Sequence

from nas.cli._common import add_recipe_options, add_running_options, add_target_options, run, training_arguments


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nas-train",
        description="Train an architecture (space, YAML, arch string, or a study trial) on a data set; rerun to resume.",
        epilog="Writes DIR/weights.pt, checkpoint.pt, metrics.jsonl, curve.png, arch.yaml, result.json (and init.json with --init). "
        "Several processes: torchrun --nproc_per_node N -m nas.cli.train ...",
    )
    add_target_options(parser)
    parser.add_argument("--data", required=True, help="cifar10:PATH, imagefolder:PATH or synthetic[:N]")
    parser.add_argument("--out", required=True, help="output folder (a rerun of the same command resumes it)")
    parser.add_argument("--storage", help="study storage (a *.journal file or an Optuna URL) instead of TARGET")
    parser.add_argument("--study-name", help="study in --storage [its only study]")
    parser.add_argument("--trial", default="best", help="best (the search's rule) or a trial number [best]")
    parser.add_argument(
        "--init",
        metavar="supernet:DIR",
        help="start from the weights ARCH inherits from DIR/supernet.pt (BatchNorm recalibrated) instead of a random init",
    )
    recipe = add_recipe_options(
        parser,
        title="recipe (defaults: nas.training.recipe)",
        epochs=30,
        batch=128,
        lr=None,
        lr_help="peak learning rate [sgd 0.1, adamw 0.002]",
        weight_decay_help="[sgd 5e-4, adamw 0.05]",
        seed_help="initialisation, data order, augmentation and validation split [0]",
    )
    recipe.add_argument("--optimizer", default="sgd", choices=("sgd", "adamw"), help="SGD with Nesterov momentum, or AdamW [sgd]")
    recipe.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (Nesterov) [0.9]")
    recipe.add_argument("--label-smoothing", type=float, default=0.1, help="[0.1]")
    recipe.add_argument("--ema", type=float, metavar="DECAY", help="keep an EMA of the weights (e.g. 0.999); evaluated and saved instead")
    add_running_options(parser)
    return parser


def _main(args: argparse.Namespace) -> int:
    from nas.api import train

    result = train(
        args.target,
        data=args.data,
        out=args.out,
        storage=args.storage,
        study_name=args.study_name,
        trial=args.trial,
        width=args.width,
        sample=args.sample,
        num_classes=args.num_classes,
        init=args.init,
        optimizer=args.optimizer,
        momentum=args.momentum,
        label_smoothing=args.label_smoothing,
        ema=args.ema,
        resolution=args.resolution,
        **training_arguments(args),
    )
    if int(os.environ.get("RANK", "0")) == 0:
        print(
            f"test top-1 {result.test_top1:.2f}%, top-5 {result.test_top5:.2f}% ({result.summary['test_images']} test images); {result.out}"
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
