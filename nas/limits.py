"""Limits on what a user file may ask for, so that a hostile or mistyped file fails in milliseconds.

Each bound is far above any mobile network (MobileNetV2 has 17 blocks, 1280 channels,
224 px) yet low enough that building, counting or exporting stays feasible.
``docs/reference/bad-input.md`` lists them.
"""

from __future__ import annotations

import math
from typing import Any

from nas.errors import SpecError

MAX_RESOLUTION = 4096
MAX_BLOCKS = 512
MAX_CHANNELS = 16384
MAX_CLASSES = 100_000
MAX_EXPANSION = 64.0  # expansion and Tucker ratios
MAX_NAME_LENGTH = 128
NAME_PUNCTUATION = "._+-@= "  # besides letters and digits


def check_int(value: int, *, key: str, maximum: int) -> int:
    if value > maximum:
        raise SpecError(f"must be at most {maximum}, got {_clip(value)}", key=key)
    return value


def check_ratio(value: float | None, *, key: str) -> None:
    if value is not None and not (math.isfinite(value) and value <= MAX_EXPANSION):
        raise SpecError(f"must be a finite number at most {MAX_EXPANSION:g}, got {_clip(value)}", key=key)


def check_name(name: Any, *, key: str = "name") -> str:
    """Names end up in file names, terminals and reports: letters, digits and ``._+-@=`` and inner spaces only."""
    if not isinstance(name, str) or not name:
        raise SpecError(f"must be a non-empty string, got {_clip(name)}", key=key)
    bad = next((ch for ch in name if not (ch.isalnum() or ch in NAME_PUNCTUATION)), None)
    if bad is not None or name[0] in ".- " or name[-1] == " " or len(name) > MAX_NAME_LENGTH:
        shown = repr(bad) if bad is not None else "its first or last character" if len(name) <= MAX_NAME_LENGTH else "its length"
        raise SpecError(
            f"{_clip(name)} is not allowed ({shown}): use up to {MAX_NAME_LENGTH} letters, digits and {NAME_PUNCTUATION.strip()} "
            "(inner spaces allowed), not starting with '.', '-' or a space",
            key=key,
        )
    return name


def _clip(value: Any, limit: int = 60) -> str:
    """``repr`` cut to ``limit`` characters: error messages never print a huge value."""
    text = (
        repr(value)
        if not isinstance(value, (int, float)) or isinstance(value, bool)
        else f"{value:.6g}"
        if isinstance(value, float)
        else _int_text(value)
    )
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _int_text(value: int) -> str:
    return str(value) if value.bit_length() < 200 else f"an integer of {value.bit_length()} bits"
