"""The accuracy signal of ``nas-search --data D`` without ``--proxy``: a supernet trained on D for the space.

``nas-search`` and ``nas.search`` call :func:`with_supernet` on the settings before
the search context is built. With ``--data`` and no ``--proxy`` the search scores
with the ``supernet`` proxy: ``--supernet DIR`` when given, else ``OUT/supernet``,
reused when ``load_supernet`` accepts it for this space, resolution and data,
resumed when a run there was interrupted, otherwise trained with SEARCH_DEFAULTS.
Without data the zero-cost default stays. It lives in ``nas.training`` (not in
``nas.study``) because the trainer already reads the study (``nas-train --storage``).

SEARCH_DEFAULTS (why): one epoch (the loop's shortest run) of the default rule, the
sandwich rule (``nas.training.supernet.DEFAULT_RULE``), at the space's resolution, batch
64, lr 0.05 after a quarter-epoch warm-up (the recipe's 1-epoch warm-up would leave a
1-epoch run no decay), the settings measured below. On this project's 2-core CPU that epoch of CIFAR-10's 45,000 training images
of ``nas_bench_macro`` at 32 px took 18 minutes on one core and ranked 250 benchmark
networks at Spearman +0.93 (experiments/results/supernet_macro.md); larger spaces take
longer. It is a short default, far from a
converged supernet: for a better signal train one longer with ``nas-supernet train``
and pass ``--supernet DIR``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nas.errors import NasError
from nas.study.settings import SearchSettings
from nas.training.supernet import DEFAULT_RULE

FOLDER = "supernet"
SEARCH_DEFAULTS: dict[str, Any] = {"rule": DEFAULT_RULE, "epochs": 1, "batch_size": 64, "lr": 0.05, "warmup_epochs": 0.25}


def search_out(settings: SearchSettings) -> Path:
    """The search's output folder, named as ``SearchContext.create`` names it."""
    if settings.out is not None:
        return Path(settings.out)
    from nas.space import get_space
    from nas.study.context import resolve_device
    from nas.study.settings import default_out

    space = get_space(settings.space, resolution=settings.resolution)
    return default_out(space.name, resolve_device(settings.device, settings.table)[0].name, settings.latency_target_ms)


def with_supernet(settings: SearchSettings, *, progress: bool = True) -> SearchSettings:
    """``settings`` with ``proxy="supernet"`` and a trained ``supernet`` folder when data is given without a proxy."""
    if settings.proxy is not None or settings.data is None:
        return settings
    if settings.supernet is not None:
        return settings.replace(proxy="supernet")
    from nas.proxies.data import load_data
    from nas.space import get_space
    from nas.study.context import OUT_MARKER, SearchContext
    from nas.supernet.checkpoint import check_match, read_supernet
    from nas.supernet.network import SupernetError

    out = search_out(settings)
    folder = out / FOLDER
    chosen = settings.replace(proxy="supernet", supernet=str(folder))
    space = get_space(settings.space, resolution=settings.resolution)
    data = load_data(settings.data)
    if (folder / "supernet.pt").is_file():
        try:
            check_match(read_supernet(folder), space=space, data=data)
            return chosen
        except SupernetError as error:
            raise NasError(f"{error}; it is in this search's --out: pass another --out, or --supernet DIR, or --proxy P") from None
    if (out / OUT_MARKER).is_file() and not folder.is_dir():
        raise NasError(f"--out {out}: holds a search that did not use a supernet: pass another --out, or --proxy P to resume it")
    SearchContext.create(settings.replace(proxy="default"))  # every other setting is checked before minutes of training
    from nas.training.supernet import train_supernet

    if progress:
        shown = ", ".join(f"{k} {v}" for k, v in SEARCH_DEFAULTS.items())
        print(
            f"--data without --proxy: training a supernet of {space.name} at {space.resolution} px on {data.name} into {folder} "
            f"({shown}; a rerun resumes it; pass --supernet DIR to use a longer-trained one)",
            flush=True,
        )
    train_supernet(space, data=data, out=folder, progress=progress, threads=settings.torch_threads, **SEARCH_DEFAULTS)
    return chosen
