"""Block specs built by hand (not through ``Block.parse``) may lack the fields parse fills in; the
built-in blocks then refuse with a one-line SpecError naming the key, for counting and for building alike."""

from __future__ import annotations

from dataclasses import replace

import pytest

from nas.block_spec import BlockSpec
from nas.blocks import get_block
from nas.errors import SpecError


@pytest.mark.parametrize("name", ["conv", "separable", "ibn", "fused_ibn", "tucker"])
def test_missing_kernel_is_a_spec_error(name: str) -> None:
    block = get_block(name)
    spec = replace(block.parse({"out": 16}), kernel=None)
    for call in (block.convs, block.module):
        with pytest.raises(SpecError, match="needs a kernel") as caught:
            call(spec, in_channels=16)
        assert caught.value.key == "kernel"


@pytest.mark.parametrize("missing", ["in_ratio", "out_ratio"])
def test_tucker_without_a_ratio_is_a_spec_error(missing: str) -> None:
    block = get_block("tucker")
    spec = replace(block.parse({"out": 16}), **{missing: None})
    for call in (block.convs, block.module):
        with pytest.raises(SpecError, match="in_ratio and out_ratio") as caught:
            call(spec, in_channels=16)
        assert caught.value.key == missing


def test_parsed_specs_carry_the_defaults_the_blocks_need() -> None:
    """parse fills in the kernel (and tucker's ratios), so specs from YAML or strings never hit those errors."""
    for name in ("conv", "separable", "ibn", "fused_ibn", "tucker"):
        spec = get_block(name).parse({"out": 16})
        assert spec.kernel == 3
        assert get_block(name).convs(spec, in_channels=16)
    tucker = get_block("tucker").parse({"out": 16})
    assert (tucker.in_ratio, tucker.out_ratio) == (0.25, 0.75)
    assert BlockSpec(type="conv", out=8, kernel=5).kernel == 5
