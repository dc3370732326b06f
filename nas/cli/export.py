"""``nas-export``: write an architecture (or trials of a stored study) as YAML, ONNX, int8 ONNX, TorchScript."""

from __future__ import annotations

import argparse
from typing import Sequence

from nas.cli._common import add_target_options, run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nas-export",
        description="Export an architecture (space, YAML, arch string) or trials of a study (--storage) to deployable files.",
    )
    add_target_options(parser)
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--format", default="yaml,onnx", help="comma-separated: yaml, onnx, int8, torchscript [yaml,onnx]")
    parser.add_argument("--storage", help="study storage (a *.journal file or an Optuna URL) instead of TARGET")
    parser.add_argument("--study-name", help="study in --storage [its only study]")
    parser.add_argument("--trial", default="best", help="best (the search's rule), pareto (every front trial), or a trial number [best]")
    return parser


def _show_progress() -> None:
    """One stderr line per written format: ONNX export and verification take 10-40 s per architecture."""
    import logging
    import sys

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("nas-export: %(message)s"))
    log = logging.getLogger("nas.export")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def _main(args: argparse.Namespace) -> int:
    from nas.api import export

    _show_progress()
    written = export(
        args.target,
        out=args.out,
        formats=args.format,
        storage=args.storage,
        study_name=args.study_name,
        trial=args.trial,
        width=args.width,
        resolution=args.resolution,
        num_classes=args.num_classes,
        sample=args.sample,
    )
    for path in written:
        print(path)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
