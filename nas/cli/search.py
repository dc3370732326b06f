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

from nas.cli._common import run


def build_parser() -> argparse.ArgumentParser:
    from nas.study.objectives import OBJECTIVES
    from nas.study.settings import add_arguments
    from nas.study.study import SAMPLERS

    parser = argparse.ArgumentParser(
        prog="nas-search",
        description="Search architectures trading an accuracy proxy against a device's table latency; export the best.",
    )
    add_arguments(
        parser, choices={"samplers": sorted(SAMPLERS), "objectives": list(OBJECTIVES.names())}
    )  # one option per SearchSettings field
    parser.add_argument("--no-progress", action="store_true", help="no progress bar and no summary table")
    return parser


def _main(args: argparse.Namespace) -> int:
    from nas.errors import NasError
    from nas.study import SearchContext, search
    from nas.study.settings import SearchSettings, mask_secrets, printable

    options = vars(args)
    try:
        settings = SearchSettings(**{key: value for key, value in options.items() if key != "no_progress"})
        if settings.data is not None and settings.proxy is None:  # the supernet signal; torch is imported only then
            from nas.training.search_supernet import with_supernet

            settings = with_supernet(settings, progress=not args.no_progress)
        context = SearchContext.create(settings)
        search(context, progress=not args.no_progress)
    except NasError as error:  # never echo a password of --storage, nor a name's escape codes
        masked = NasError(printable(mask_secrets(str(error), options.get("storage"))))
        masked.exit_code = error.exit_code
        raise masked from None
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
