"""``nas-export``: write an architecture (or trials of a stored study) as YAML, ONNX, int8 ONNX, TorchScript."""

from __future__ import annotations

import argparse
from typing import Sequence

from nas.cli._common import add_target_options, positive_int, run
from nas.exporting.deploy import DEFAULT_CALIBRATION_IMAGES, DEFAULT_METHOD
from nas.onnx_export import CALIBRATION_METHODS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nas-export",
        description="Export an architecture (space, YAML, arch string) or trials of a study (--storage) to deployable files.",
    )
    add_target_options(parser)
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--format", help="comma-separated: yaml, onnx, int8, torchscript [yaml,onnx; yaml,onnx,int8 with --data]")
    parser.add_argument("--storage", help="study storage (a *.journal file or an Optuna URL) instead of TARGET")
    parser.add_argument("--study-name", help="study in --storage [its only study]")
    parser.add_argument("--trial", default="best", help="best (the search's rule), pareto (every front trial), or a trial number [best]")
    deploy = parser.add_argument_group("trained export (int8 calibration, accuracy and latency in OUT/export.json)")
    deploy.add_argument("--weights", metavar="CKPT", help="trained weights (nas-train's DIR/weights.pt); its architecture is exported")
    deploy.add_argument(
        "--data", metavar="D", help="cifar10:PATH or imagefolder:PATH: int8 calibrated on its training images; top-1 on its test split"
    )
    deploy.add_argument(
        "--calibration-images",
        type=positive_int,
        metavar="N",
        help=f"training images int8 is calibrated on (all when the split has fewer) [{DEFAULT_CALIBRATION_IMAGES}]",
    )
    deploy.add_argument("--calibration-method", choices=CALIBRATION_METHODS, help=f"onnxruntime's calibration method [{DEFAULT_METHOD}]")
    deploy.add_argument("--eval-images", type=positive_int, metavar="N", help="a seeded subset of N test images [the whole test split]")
    deploy.add_argument("--device", help="latency table (device name or table YAML) whose prediction is shown beside the measured latency")
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
    import json

    from nas.api import export
    from nas.exporting.summary import JSON_NAME, summary_lines

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
        weights=args.weights,
        data=args.data,
        calibration_images=args.calibration_images,
        calibration_method=args.calibration_method,
        eval_images=args.eval_images,
        device=args.device,
    )
    for path in written:
        print(path)
    summaries = [path for path in written if path.name == JSON_NAME]
    for path in summaries:
        for line in summary_lines(json.loads(path.read_text(encoding="utf-8"))):
            print(f"{path.parent}: {line}" if len(summaries) > 1 else line)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
