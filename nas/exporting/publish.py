"""Publish an export folder whole: files are written into a hidden folder beside ``--out``, then swapped in.

So a later ``int8`` never quantizes a stale ``model.onnx`` of another architecture,
and a killed export leaves either the old folder or the new one. An existing
``--out`` is replaced whole when it holds only an earlier export (the files below
and ``trial-N/`` folders of them); anything else in it is refused, never deleted.
The swap is one ``renameat2(RENAME_EXCHANGE)`` on Linux (two renames elsewhere);
leftover hidden folders of a killed export are swept by the next export to the
same ``--out``.
"""

from __future__ import annotations

import ctypes
import errno
import ctypes.util
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from nas.errors import NasError

EXPORT_FILES = frozenset({"arch.yaml", "model.onnx", "model.int8.onnx", "model.torchscript.pt", "weights.pt", "export.json", "export.md"})
_TRIAL_DIR = re.compile(r"trial-\d+")
_RENAME_EXCHANGE = 2


class PublishError(NasError):
    """An ``--out`` that cannot be written or that holds files an export must not replace."""


def _hidden_prefix(out: Path) -> str:
    return f".{out.name}.export-"


def _is_earlier_export(folder: Path) -> bool:
    for entry in folder.iterdir():
        if entry.is_file() and entry.name in EXPORT_FILES:
            continue
        if entry.is_dir() and not entry.is_symlink() and _TRIAL_DIR.fullmatch(entry.name) and _is_earlier_export(entry):
            continue
        return False
    return True


def _foreign(folder: Path) -> str:
    names = sorted(e.name for e in folder.iterdir() if not (e.name in EXPORT_FILES or _TRIAL_DIR.fullmatch(e.name)))
    return ", ".join(names[:3]) + (" ..." if len(names) > 3 else "") if names else "a trial folder with other files"


def check_out(out: Path) -> None:
    """Refuse, before any work, an ``--out`` that is a file or holds files other than an earlier export."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise PublishError(f"{out}: cannot create the output folder: it is a file or a link, not a folder")
    if out.is_dir() and not _is_earlier_export(out):
        raise PublishError(
            f"{out}: holds files that are not an export ({_foreign(out)}); an export replaces its --out whole: choose a new or empty folder"
        )


def _sweep(out: Path) -> None:
    """Remove hidden folders a killed export to ``out`` left behind."""
    for stale in out.parent.glob(_hidden_prefix(out) + "*"):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2``); False where the call is not available."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd = -100
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        error = ctypes.get_errno()
        if error in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):  # no exchange on this kernel or filesystem
            return False
        raise OSError(error, os.strerror(error), str(b))
    return True


@contextmanager
def staged(out: str | Path) -> Iterator[Path]:
    """Yield a hidden folder beside ``out``; on success it becomes ``out`` whole, on failure it vanishes."""
    out = Path(out)
    check_out(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # a file stands where a parent folder should be
        raise PublishError(f"{out}: cannot create the output folder: {os.strerror(errno.ENOTDIR)}") from None
    except OSError as error:
        raise PublishError(f"{out}: cannot create the output folder: {error.strerror}") from None
    with _exclusive(out.parent):  # two searches finishing together must not sweep each other's live stage
        try:
            _sweep(out)
            stage = Path(tempfile.mkdtemp(prefix=_hidden_prefix(out), dir=out.parent))
        except OSError as error:
            raise PublishError(f"{out}: cannot create the output folder: {error.strerror}") from None
        try:
            os.chmod(stage, 0o777 & ~_umask())
            yield stage
            _publish(stage, out)
        finally:
            shutil.rmtree(stage, ignore_errors=True)  # the new files on failure, the old export after a swap


@contextmanager
def _exclusive(folder: Path) -> Iterator[None]:
    """``flock`` on the folder for one export at a time beside it; a killed holder releases it."""
    try:
        import fcntl
    except ImportError:  # not a POSIX system
        yield
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)


def _publish(stage: Path, out: Path) -> None:
    check_out(out)  # again: another process may have written there meanwhile
    if not out.exists():
        os.rename(stage, out)
        return
    if _exchange(stage, out):
        return  # ``stage`` now holds the old export, removed by the caller
    old = Path(tempfile.mkdtemp(prefix=_hidden_prefix(out), dir=out.parent))
    os.rmdir(old)
    os.rename(out, old)
    os.rename(stage, out)
    shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
