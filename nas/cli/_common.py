"""What every command shares: one-line errors and a non-zero exit instead of tracebacks."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, NoReturn, Sequence

from nas.errors import NasError


def run(main: Callable[[argparse.Namespace], int | None], parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    # argparse has no hook for its error format, so the instance's bound method is replaced; mypy flags any method
    # assignment (method-assign) and compares against the unbound signature with self (assignment)
    parser.error = _one_line_error(parser)  # type: ignore[method-assign, assignment]
    args = parser.parse_args(argv)
    try:
        return int(main(args) or 0)
    except NasError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return error.exit_code
    except MemoryError:
        print(f"{parser.prog}: error: out of memory (input too large for this machine)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head`
        sys.stderr.close()
        return 0
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        print(f"{parser.prog}: error: {where}{error.strerror or error}", file=sys.stderr)
        return 2


def _one_line_error(parser: argparse.ArgumentParser) -> Callable[[str], NoReturn]:
    """argparse's errors as one line (its default prints the whole usage first), exit status 2."""

    def error(message: str) -> NoReturn:
        parser.exit(2, f"{parser.prog}: error: {message} (see {parser.prog} --help)\n")

    return error


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def add_target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", nargs="?", help="space name, space or arch YAML, or compact arch string")
    parser.add_argument("--width", type=positive_float, help="width multiplier α (spaces only)")
    parser.add_argument("--resolution", type=positive_int, help="input resolution (H = W)")
    parser.add_argument("--num-classes", type=positive_int, help="classifier outputs")
    parser.add_argument("--sample", type=int, metavar="SEED", help="draw a random architecture from a space with choices")


def add_running_options(parser: argparse.ArgumentParser) -> None:
    """The options of a training run that may change when it resumes (nas-train and nas-supernet train share them)."""
    running = parser.add_argument_group("running (may change when resuming)")
    running.add_argument("--checkpoint-minutes", type=float, default=5.0, help="checkpoint this often inside an epoch (0: every step) [5]")
    running.add_argument("--threads", type=positive_int, help="torch CPU threads [torch's default]")
    running.add_argument("--device", help="cpu, cuda or cuda:N [cuda when present]")
    running.add_argument(
        "--no-amp", dest="amp", action="store_false", help="train in float32 on a GPU (default: bf16, else fp16 + GradScaler)"
    )
    running.add_argument("--quiet", action="store_true", help="no progress bar and no per-epoch lines")


def add_recipe_options(
    parser: argparse.ArgumentParser,
    *,
    title: str,
    epochs: int,
    batch: int,
    lr: float | None,
    lr_help: str,
    weight_decay_help: str,
    seed_help: str,
) -> argparse._ArgumentGroup:
    """The recipe options ``nas-train`` and ``nas-supernet train`` share (their defaults differ); returns the group for the rest.

    Values are checked by ``nas.training.recipe.Recipe``, so the CLI and the Python API give the same one-line errors.
    """
    recipe = parser.add_argument_group(title)
    recipe.add_argument("--epochs", type=int, default=epochs, help=f"training epochs [{epochs}]")
    recipe.add_argument("--batch", type=int, default=batch, help=f"images per step and process [{batch}]")
    recipe.add_argument("--lr", type=float, default=lr, help=lr_help)
    recipe.add_argument("--weight-decay", type=float, help=f"on weights only, never on BatchNorm or biases {weight_decay_help}")
    recipe.add_argument("--warmup-epochs", type=float, default=1.0, help="linear warm-up before the cosine decay [1]")
    recipe.add_argument("--val-fraction", type=float, default=0.1, help="training images held out for validation (and scoring) [0.1]")
    recipe.add_argument("--seed", type=int, default=0, help=seed_help)
    return recipe


def training_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of ``nas.train`` / ``nas.train_supernet`` that the shared recipe and running options give."""
    return {
        "epochs": args.epochs,
        "batch_size": args.batch,
        "lr": args.lr,
        "weight_decay": args.weight_decay,
        "warmup_epochs": args.warmup_epochs,
        "val_fraction": args.val_fraction,
        "seed": args.seed,
        "checkpoint_minutes": args.checkpoint_minutes,
        "threads": args.threads,
        "device": args.device,
        "amp": args.amp,
        "progress": not args.quiet,
    }
