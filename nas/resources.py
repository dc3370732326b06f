"""Where the shipped search spaces and latency tables are read from, and where user-built tables go.

The top-level ``search_spaces/`` and ``latency_tables/`` folders of the source tree are mapped into
the wheel as the data folders ``nas/_data/search_spaces`` and ``nas/_data/latency_tables`` (see
``setup.py`` and ``pyproject.toml``). They are read-only defaults: tables that ``nas-profile``
builds go to a per-user folder instead, never into the installed package. A table measured on this
host in-process (onnxruntime) is filed there by host: ``<store>/<device>/<host key>.yaml``, so that
machines sharing a home folder (or one machine after a CPU or runtime change) never mix entries.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

import platformdirs

SHIPPED_KINDS = ("search_spaces", "latency_tables")
TABLE_DIR_ENV = "NAS_TABLE_DIR"


def shipped_dir(kind: str) -> Path:
    """The folder of shipped ``kind`` files: inside the installed package, or beside it in a source checkout."""
    if kind not in SHIPPED_KINDS:
        raise ValueError(f"unknown kind of shipped data {kind!r} (known: {', '.join(SHIPPED_KINDS)})")
    # A wheel or non-editable install unpacks the package onto the file system, so files("nas") is a Path.
    installed = Path(str(files("nas"))) / "_data" / kind
    if installed.is_dir():
        return installed
    # Fallback for a source checkout (`python3 -m pytest` from the repo root, PYTHONPATH=checkout, or an
    # editable install): `import nas` loaded the source tree, whose data folders sit beside nas/, not in it.
    return Path(__file__).resolve().parents[1] / kind


def user_table_dir() -> Path:
    """Where built and imported tables are written: ``$NAS_TABLE_DIR``, else the per-user data folder."""
    override = os.environ.get(TABLE_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return platformdirs.user_data_path("mobilenas") / "latency_tables"


def host_table_file(device: str, key: str) -> Path:
    """Where the table of ``device`` measured on the host with fingerprint hash ``key`` is kept."""
    return user_table_dir() / device / f"{key}.yaml"


def table_file(name: str | Path) -> Path:
    """A table by file name: the user's copy if there is one, else the shipped one, else where the user's would go."""
    user = user_table_dir() / name
    if user.exists():
        return user
    shipped = shipped_dir("latency_tables") / name
    return shipped if shipped.exists() else user


def writable_table(path: Path) -> Path:
    """``path``, or its namesake in the user's folder when ``path`` is a shipped (read-only) table."""
    if Path(path).resolve().parent == shipped_dir("latency_tables").resolve():
        return user_table_dir() / Path(path).name
    return Path(path)
