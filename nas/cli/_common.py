"""What every command shares: one-line errors and a non-zero exit instead of tracebacks."""

from __future__ import annotations

import argparse
import sys
from typing import Callable, NoReturn, Sequence

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
