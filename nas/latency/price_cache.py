"""Modelled prices computed on demand, cached in the per-user table store and read back on the next run.

A modelled device (an analytic model in its table's header) can price any op, so ``fill_modelled``
prices what its table lacks. Those prices are kept in ``<store>/<device>/modelled-<hash>.yaml``,
where the hash covers the model (constants and fitted parameters) and ``PRICING_VERSION`` (bumped
when the cost formula in ``backends/analytic.py`` changes): after a recalibration or a formula
change the file name differs, so a stale cache is never read, and a file whose header names
another hash is ignored too. The cache is written atomically, never into the package folder; a
store that cannot be written leaves the prices in memory, where they are still right.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from nas.errors import NasError
from nas.latency.table import Entry, LatencyTable, new_header
from nas.resources import user_table_dir

PRICING_VERSION = 1  # bump when backends/analytic.py prices an op differently for the same parameters


def model_hash(model: Any) -> str:
    """12 hex digits of sha256 over the header's ``model`` and the pricing version."""
    text = json.dumps({"pricing_version": PRICING_VERSION, "model": model}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def cache_path(device: str, digest: str) -> Path:
    return user_table_dir() / device / f"modelled-{digest}.yaml"


def load_cached(device: str, digest: str) -> dict[str, Entry]:
    """The cached prices for this model, or none (no file, an unreadable one, or one of another model)."""
    path = cache_path(device, digest)
    if not path.exists():
        return {}
    try:
        table = LatencyTable.load(path)
    except NasError:  # a damaged cache is only a lost cache: the prices are computed again and the file rewritten
        return {}
    if table.header.get("model_hash") != digest or table.source != "modelled" or table.device != device:
        return {}
    return table.entries


def save_cached(table: LatencyTable, digest: str, priced: dict[str, Entry]) -> Path | None:
    """Add ``priced`` to this model's cache file (merged with what another process may have written); None if unwritable."""
    path = cache_path(table.device, digest)
    entries = {**load_cached(table.device, digest), **priced}
    header = new_header(
        device=table.device,
        description=str(table.header.get("device", {}).get("description", "")),
        source="modelled",
        precision=table.precision,
        backend="analytic",
        model=table.header.get("model"),
        model_hash=digest,
        pricing_version=PRICING_VERSION,
        notes="prices of ops the shipped table lacks, computed on demand by the analytic model above (a cache: safe to delete)",
    )
    try:
        return LatencyTable(header=header, entries=entries).save(path)
    except (NasError, OSError):
        return None


__all__ = ["PRICING_VERSION", "cache_path", "load_cached", "model_hash", "save_cached"]
