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

from nas.cli._common import add_recipe_options, add_running_options, positive_int, run, training_arguments
from nas.training.supernet import DEFAULT_RULE, DEFAULT_TYPE_WARMUP, RULES


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
    train.add_argument(
        "--type-warmup",
        type=float,
        default=DEFAULT_TYPE_WARMUP,
        help=f"spos, sandwich: fraction of the steps that warm up the block types of the stages' first layers [{DEFAULT_TYPE_WARMUP}]",
    )
    recipe = add_recipe_options(
        train,
        title="recipe (defaults: nas.training.supernet, else nas.training.recipe)",
        epochs=10,
        batch=64,
        lr=0.05,
        lr_help="peak learning rate of SGD with Nesterov momentum [0.05]",
        weight_decay_help="[5e-4]",
        seed_help="initialisation, paths, data order, augmentation and validation split [0]",
    )
    recipe.add_argument("--resolution", type=positive_int, help="input resolution [the space's; a search must use the same]")
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
        type_warmup=args.type_warmup,
        resolution=args.resolution,
        **training_arguments(args),
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
