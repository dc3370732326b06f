from __future__ import annotations

import pytest
import yaml

from nas.arch import ArchSpec
from nas.errors import SpecError

ISSUE_EXAMPLE = """\
name: mobilenet_v2
resolution: 224
num_classes: 1000
stem: {type: conv, out: 32, kernel: 3, stride: 2, act: relu6}
blocks:
  - {type: ibn, out: 16, kernel: 3, stride: 1, expansion: 1, act: relu6}
  - {type: ibn, out: 24, kernel: 3, stride: 2, expansion: 6, act: relu6}
  - {type: fused_ibn, out: 40, kernel: 3, stride: 2, expansion: 4, act: relu}
  - {type: tucker, out: 40, kernel: 3, stride: 1, in_ratio: 0.25, out_ratio: 0.75, act: relu}
  - {type: separable, out: 64, kernel: 3, stride: 1, act: relu}
  - {type: skip, out: 64, stride: 1}
head: {out: 1280, act: relu6}
"""


def test_yaml_round_trip_is_exact() -> None:
    arch = ArchSpec.from_yaml(ISSUE_EXAMPLE)
    assert yaml.safe_load(arch.to_yaml()) == yaml.safe_load(ISSUE_EXAMPLE)
    assert ArchSpec.from_yaml(arch.to_yaml()) == arch


def test_compact_string_round_trip() -> None:
    arch = ArchSpec.from_yaml(ISSUE_EXAMPLE)
    text = arch.to_string()
    assert text.startswith("r224_n1000,conv_k3_s2_c32_relu6,ibn_k3_s1_e1_c16_relu6,")
    assert "fused_ibn_k3_s2_e4_c40_relu" in text and "tucker_k3_s1_i0.25_o0.75_c40_relu" in text
    assert ArchSpec.from_string(text, name="mobilenet_v2") == arch


def test_spec_is_frozen_and_hashable() -> None:
    arch = ArchSpec.from_yaml(ISSUE_EXAMPLE)
    assert hash(arch) == hash(ArchSpec.from_yaml(ISSUE_EXAMPLE))
    with pytest.raises(AttributeError):
        arch.resolution = 160  # type: ignore[misc]


def test_head_null_and_hidden() -> None:
    text = ISSUE_EXAMPLE.replace("head: {out: 1280, act: relu6}", "head: null").replace(
        "expansion: 6, act: relu6}", "hidden: 96, act: relu6}"
    )
    arch = ArchSpec.from_yaml(text)
    assert arch.head is None and arch.blocks[1].hidden == 96
    assert ArchSpec.from_string(arch.to_string(), name=arch.name) == arch


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (("type: tucker", "type: octopus"), "blocks[3].type"),
        (("kernel: 3, stride: 1, act: relu}", "kernel: 4, stride: 1, act: relu}"), "blocks[4].kernel"),
        (("out: 64, stride: 1}", "out: -64, stride: 1}"), "blocks[5].out"),
        (("out: 24, kernel: 3, stride: 2", "out: 24, kernel: 3, stride: 3"), "blocks[1].stride"),
        (("resolution: 224\n", ""), "resolution"),
        (("act: relu6}\nblocks", "act: gelu}\nblocks"), "stem.act"),
        (("in_ratio: 0.25", "in_ratio: -0.25"), "blocks[3].in_ratio"),
        (("{type: skip, out: 64, stride: 1}", "{type: skip, out: 64, stride: 1, kernel: 3}"), "blocks[5].kernel"),
        (("{type: skip, out: 64, stride: 1}", "{type: skip, stride: 1}"), "blocks[5].out"),
        (("expansion: 4,", "expansion: four,"), "blocks[2].expansion"),
        (("head: {out: 1280, act: relu6}", "head: {out: 1280, act: relu6, colour: red}"), "head.colour"),
        (("num_classes: 1000", "num_classes: 1000\nwidth_mult: 2"), "width_mult"),
    ],
)
def test_invalid_arch_names_the_key(change: tuple[str, str], key: str) -> None:
    old, new = change
    assert old in ISSUE_EXAMPLE
    with pytest.raises(SpecError) as info:
        ArchSpec.from_yaml(ISSUE_EXAMPLE.replace(old, new), source="arch.yaml")
    message = str(info.value)
    assert message.startswith("arch.yaml: ") and key in message and "\n" not in message


def test_malformed_yaml_names_the_line() -> None:
    with pytest.raises(SpecError, match=r"bad.yaml: malformed YAML at line \d+"):
        ArchSpec.from_yaml("name: x\nblocks: [\n", source="bad.yaml")


def test_bad_compact_strings() -> None:
    with pytest.raises(SpecError):
        ArchSpec.from_string("r224_n1000,conv_k3_s2_c32_relu6,ibn_q3_c16,head_none")
    with pytest.raises(SpecError):
        ArchSpec.from_string("not an arch")
