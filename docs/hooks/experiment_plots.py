"""mkdocs hook: publish the plots of ``experiments/results/`` with the findings page.

``docs/experiments.md`` includes ``experiments/README.md`` (pymdownx.snippets), whose images point at
``results/*.png``; the plots stay where the scripts write them and are added to the site here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

RESULTS = Path(__file__).resolve().parents[2] / "experiments" / "results"


def on_files(files: Files, *, config: Any) -> Files:
    """mkdocs event: add every committed plot as ``results/NAME.png`` beside the findings page."""
    for plot in sorted(RESULTS.glob("*.png")):
        files.append(File.generated(config, f"results/{plot.name}", abs_src_path=str(plot)))
    return files
