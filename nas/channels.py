"""Channel rounding shared by every width multiplier, expansion and ratio.

One rule everywhere (the one from the MobileNet reference code): round to the
nearest multiple of ``divisor``, at least ``divisor``, and never more than 10 %
below the requested value. Accelerators run channel counts that are multiples
of their vector width faster, so a search space should never produce odd ones.
"""

from __future__ import annotations

CHANNEL_DIVISOR = 8


def make_divisible(value: float, divisor: int = CHANNEL_DIVISOR, *, min_value: int | None = None) -> int:
    """Round ``value`` to a multiple of ``divisor`` (at least ``min_value`` or ``divisor``)."""
    if value <= 0:
        raise ValueError(f"channel count must be positive, got {value}")
    floor = divisor if min_value is None else min_value
    rounded = max(floor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def scale_channels(channels: int, width: float, divisor: int = CHANNEL_DIVISOR) -> int:
    """Apply a width multiplier α; α = 1 leaves the count as written."""
    if width == 1.0:
        return channels
    return make_divisible(channels * width, divisor)


def scale_resolution(resolution: int, multiplier: float) -> int:
    """Apply a resolution multiplier ρ, keeping the input a multiple of 32 like the papers' 224/192/160/128."""
    if multiplier == 1.0:
        return resolution
    return max(32, int(round(resolution * multiplier / 32)) * 32)
