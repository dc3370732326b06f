"""Width choices for the stem and the head: ``stem: {out: [16, 24, 32]}``, ``head: {out: [960, 1280]}``."""

from __future__ import annotations

import pytest

from nas.errors import SpecError
from nas.space import SearchSpace, get_space, parse_space, space_names


def _space(stem_out: object = (16, 24, 32), head_out: object = (960, 1280), **extra: object) -> SearchSpace:
    data = {
        "name": "widths",
        "resolution": 32,
        "num_classes": 10,
        "stem": {"type": "conv", "out": list(stem_out) if isinstance(stem_out, tuple) else stem_out, "kernel": 3, "stride": 1},
        "head": {"out": list(head_out) if isinstance(head_out, tuple) else head_out, "scaling": "full"},
        "stages": [
            {"out": 24, "stride": 2, "layers": 2, "block": {"type": ["ibn", "skip"], "expansion": [3, 6]}, "first": {"type": "ibn"}}
        ],
        **extra,
    }
    return SearchSpace(definition=parse_space(data, source="widths.yaml"))


def test_stem_and_head_widths_are_searched_parameters() -> None:
    space = _space()
    parameters = space.parameters
    assert parameters["stem.out"] == (16, 24, 32) and parameters["head.out"] == (960, 1280)
    assert list(parameters)[0] == "stem.out" and list(parameters)[-1] == "head.out"
    arch = space.arch({**space.random_params(0), "stem.out": 24, "head.out": 960})
    assert arch.stem.out == 24 and arch.head is not None and arch.head.out == 960
    assert arch.blocks[0].out == 24
    drawn = {(a.stem.out, a.head.out) for a in (space.random(seed) for seed in range(40)) if a.head is not None}
    assert len(drawn) == 6


def test_ops_cover_every_stem_and_head_width() -> None:
    ops, heads = _space().ops()
    assert {op.spec.out for op in ops if op.in_channels == 3} == {16, 24, 32}
    assert {op.in_channels for op in ops if op.spec.stride == 2} == {16, 24, 32}
    assert {head.out for head in heads} == {960, 1280}


def test_width_multiplier_applies_to_every_choice() -> None:
    space = _space().scaled(width=0.5)
    assert [spec.out for spec in space.stem_choices()] == [8, 16, 16]  # make_divisible(12) = 16
    assert [head.out for head in space.head_choices()] == [480, 640]


@pytest.mark.parametrize(
    ("stem_out", "head_out", "message"),
    [
        ((16, "x"), 1280, "stem.out: must be int or a list of them"),
        ((), 1280, "stem.out: an empty choice list"),
        (16, (960, 0), "head.out: must be >= 1"),
        (16, (960, 10**6), "head.out: must be at most"),
    ],
)
def test_bad_width_choices_fail_with_one_line(stem_out: object, head_out: object, message: str) -> None:
    with pytest.raises(SpecError, match=message) as caught:
        _space(stem_out, head_out)
    assert str(caught.value).startswith("widths.yaml: ") and "\n" not in str(caught.value)


@pytest.mark.parametrize("name", space_names())
def test_shipped_spaces_have_no_stem_or_head_parameter(name: str) -> None:
    space = get_space(name)
    assert "stem.out" not in space.parameters and "head.out" not in space.parameters
    assert space.stem_choices() == [space.stem]
