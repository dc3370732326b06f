from hypothesis import given
from hypothesis import strategies as st

from nas.channels import make_divisible, scale_channels, scale_resolution


@given(st.floats(min_value=0.5, max_value=4096, allow_nan=False))
def test_make_divisible_rule(value: float) -> None:
    rounded = make_divisible(value)
    assert rounded % 8 == 0
    assert rounded >= 8
    assert rounded >= 0.9 * value  # never more than 10 % below
    assert abs(rounded - value) <= 8 or rounded == 8  # nearest multiple, or one step up


def test_make_divisible_known_values() -> None:
    assert make_divisible(32 * 0.35) == 16  # 11.2 → 8 would lose > 10 %
    assert make_divisible(24 * 0.5) == 16
    assert make_divisible(96) == 96
    assert make_divisible(1.0) == 8


def test_multipliers() -> None:
    assert scale_channels(64, 1.0) == 64
    assert scale_channels(64, 0.75) == 48
    assert scale_resolution(224, 1.0) == 224
    assert scale_resolution(224, 160 / 224) == 160
