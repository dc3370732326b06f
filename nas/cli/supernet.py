"""``nas-supernet train --space S --data D --out DIR``: train a weight-sharing supernet; rerun the same command to resume.

The folder then holds ``supernet.pt``, which ``nas-search --proxy supernet --supernet DIR`` (and
``nas-inspect``) score candidates with. Under ``torchrun --nproc_per_node N`` each process takes
``--batch`` images per step (N × batch in all); rank 0 writes the outputs.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from nas.cli._common import add_running_options, positive_int, run
from nas.training.supernet import DEFAULT_RULE, RULES


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``nas-supernet train`` (the one subcommand so far; ``main`` dispatches on the first word)."""
    train = argparse.ArgumentParser(
        prog="nas-supernet train",
        description="Train a weight-sharing supernet over a space on a data set (the accuracy signal of nas-search --data); "
        "rerun the same command to resume it.",
        epilog="Writes DIR/supernet.pt, checkpoint.pt, metrics.jsonl, curve.png, result.json. "
        "Several processes: torchrun --nproc_per_node N -m nas.cli.supernet train ...",
    )
    train.add_argument("--space", required=True, help="space name or space YAML")
    train.add_argument("--data", required=True, help="cifar10:PATH, imagefolder:PATH or synthetic[:N]")
    train.add_argument("--out", required=True, help="output folder (a rerun of the same command resumes it)")
    train.add_argument("--rule", default=DEFAULT_RULE, choices=RULES, help=f"sampling rule [{DEFAULT_RULE}]")
    train.add_argument("--random-paths", type=int, default=2, help="sandwich: random paths per step besides largest and smallest [2]")
    recipe = train.add_argument_group("recipe (defaults: nas.training.supernet, else nas.training.recipe)")
    recipe.add_argument("--epochs", type=positive_int, default=10, help="training epochs [10]")
    recipe.add_argument("--batch", type=positive_int, default=64, help="images per step and process [64]")
    recipe.add_argument("--resolution", type=positive_int, help="input resolution [the space's; a search must use the same]")
    recipe.add_argument("--lr", type=float, default=0.05, help="peak learning rate of SGD with Nesterov momentum [0.05]")
    recipe.add_argument("--weight-decay", type=float, help="on weights only, never on BatchNorm or biases [5e-4]")
    recipe.add_argument("--warmup-epochs", type=float, default=1.0, help="linear warm-up before the cosine decay [1]")
    recipe.add_argument("--val-fraction", type=float, default=0.1, help="training images held out for validation and scoring [0.1]")
    recipe.add_argument("--seed", type=int, default=0, help="initialisation, paths, data order, augmentation and validation split [0]")
    add_running_options(train)
    return train


def _train(args: argparse.Namespace) -> int:
    from nas.api import train_supernet

    result = train_supernet(
        args.space,
        data=args.data,
        out=args.out,
        rule=args.rule,
        random_paths=args.random_paths,
        progress=not args.quiet,
        epochs=args.epochs,
        batch_size=args.batch,
        resolution=args.resolution,
        lr=args.lr,
        weight_decay=args.weight_decay,
        warmup_epochs=args.warmup_epochs,
        val_fraction=args.val_fraction,
        seed=args.seed,
        checkpoint_minutes=args.checkpoint_minutes,
        threads=args.threads,
        device=args.device,
        amp=args.amp,
    )
    if int(os.environ.get("RANK", "0")) == 0:
        summary = result.summary
        print(
            f"supernet of {summary['space']} at {summary['resolution']} px ({summary['sampling']['rule']}, "
            f"{summary['training']['steps']} steps): validation top-1 of the largest path {summary['final_val_top1_largest']:.2f}%, "
            f"smallest {summary['final_val_top1_smallest']:.2f}%; {result.path}"
        )
        resolution = f" --resolution {args.resolution}" if args.resolution else ""
        print(f"search with it: nas-search --space {args.space}{resolution} --data {args.data} --proxy supernet --supernet {args.out}")
    return 0


COMMANDS = {"train": (build_parser, _train)}


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    names = ", ".join(f"nas-supernet {name} ..." for name in COMMANDS)
    if words and words[0] in ("-h", "--help"):
        print(f"usage: nas-supernet COMMAND [options]; commands: {names} (nas-supernet train --help)")
        return 0
    if not words or words[0] not in COMMANDS:
        given = f"unknown command {words[0]!r}" if words else "a command is needed"
        print(f"nas-supernet: error: {given}; commands: {names}", file=sys.stderr)
        return 2
    parser, command = COMMANDS[words[0]]
    return run(command, parser(), words[1:])


if __name__ == "__main__":
    raise SystemExit(main())
