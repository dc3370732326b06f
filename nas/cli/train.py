"""``nas-train ARCH --data D --out DIR``: train one architecture; rerun the same command to resume it.

Under ``torchrun --nproc_per_node N`` each process takes ``--batch`` images per step (N × batch in all);
rank 0 writes the outputs. See ``nas.training.recipe`` for the recipe's defaults and why.
"""

from __future__ import annotations

import argparse
import os
from typing import Sequence

from nas.cli._common import add_running_options, add_target_options, run


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
    recipe = parser.add_argument_group("recipe (defaults: nas.training.recipe)")
    recipe.add_argument("--epochs", type=int, default=30, help="training epochs [30]")
    recipe.add_argument("--batch", type=int, default=128, help="images per step and process [128]")
    recipe.add_argument("--optimizer", default="sgd", choices=("sgd", "adamw"), help="SGD with Nesterov momentum, or AdamW [sgd]")
    recipe.add_argument("--lr", type=float, help="peak learning rate [sgd 0.1, adamw 0.002]")
    recipe.add_argument("--weight-decay", type=float, help="on weights only, never on BatchNorm or biases [sgd 5e-4, adamw 0.05]")
    recipe.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (Nesterov) [0.9]")
    recipe.add_argument("--warmup-epochs", type=float, default=1.0, help="linear warm-up before the cosine decay [1]")
    recipe.add_argument("--label-smoothing", type=float, default=0.1, help="[0.1]")
    recipe.add_argument("--ema", type=float, metavar="DECAY", help="keep an EMA of the weights (e.g. 0.999); evaluated and saved instead")
    recipe.add_argument("--val-fraction", type=float, default=0.1, help="training images held out for validation [0.1]")
    recipe.add_argument("--seed", type=int, default=0, help="initialisation, data order, augmentation and validation split [0]")
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
        progress=not args.quiet,
        init=args.init,
        epochs=args.epochs,
        batch_size=args.batch,
        optimizer=args.optimizer,
        lr=args.lr,
        weight_decay=args.weight_decay,
        momentum=args.momentum,
        warmup_epochs=args.warmup_epochs,
        label_smoothing=args.label_smoothing,
        ema=args.ema,
        val_fraction=args.val_fraction,
        seed=args.seed,
        resolution=args.resolution,
        checkpoint_minutes=args.checkpoint_minutes,
        threads=args.threads,
        device=args.device,
        amp=args.amp,
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
