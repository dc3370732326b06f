"""Invalid search spaces give one-line errors that name the file and the key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from nas.errors import SpecError
from nas.space.schema import load_space_file

GOOD = """\
name: tiny
resolution: 32
num_classes: 10
defaults: {act: relu}
stem: {type: conv, out: 16, kernel: 3, stride: 1}
head: {out: 64}
stages:
  - out: 16
    stride: 2
    layers: [1, 2]
    width: [0.5, 1.0]
    block: {type: [ibn, fused_ibn, tucker, skip], kernel: [3, 5], expansion: [2, 4], in_ratio: 0.25, out_ratio: 0.75}
    first: {type: [ibn, fused_ibn]}
"""

CASES = [
    (("type: [ibn, fused_ibn, tucker, skip]", "type: [ibn, wormhole]"), "stages[0].block.type"),
    (("kernel: [3, 5]", "kernel: [3, 4]"), "stages[0].block.kernel"),
    (("- out: 16", "- out: -16"), "stages[0].out"),
    (("stride: 2", "stride: 3"), "stages[0].stride"),
    (("name: tiny\n", ""), "name"),
    (("resolution: 32", "resolution: big"), "resolution"),
    (("layers: [1, 2]", "layers: []"), "stages[0].layers"),
    (("expansion: [2, 4]", "expansion: [2, -4]"), "stages[0].block.expansion"),
    (("    first:", "    firsts:"), "stages[0].firsts"),
    (("head: {out: 64}", "head: {out: 64, scaling: sideways}"), "head.scaling"),
    (("stem: {type: conv, out: 16, kernel: 3, stride: 1}", "stem: {type: conv, kernel: 3, stride: 1}"), "stem.out"),
    (("defaults: {act: relu}", "defaults: {act: mish}"), "defaults.act"),
    (("num_classes: 10\n", "num_classes: 10\nreference: [mobilenet_v2]\n"), "reference"),
    (("in_ratio: 0.25,", "in_ratio: 0.25, colour: 3,"), "stages[0].block.colour"),
    (("width: [0.5, 1.0]", "width: [0.5, zero]"), "stages[0].width"),
]


@pytest.mark.parametrize(("change", "key"), CASES)
def test_invalid_space(tmp_path: Path, change: tuple[str, str], key: str) -> None:
    old, new = change
    assert old in GOOD
    path = tmp_path / "space.yaml"
    path.write_text(GOOD.replace(old, new))
    with pytest.raises(SpecError) as info:
        load_space_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and key in message and "\n" not in message


def test_good_space_loads(tmp_path: Path) -> None:
    path = tmp_path / "space.yaml"
    path.write_text(GOOD)
    definition = load_space_file(path)
    assert definition.name == "tiny" and len(definition.stages) == 1


def test_malformed_yaml(tmp_path: Path) -> None:
    path = tmp_path / "space.yaml"
    path.write_text("name: tiny\nstages: [\n  {out: 3\n")
    with pytest.raises(SpecError, match="malformed YAML at line"):
        load_space_file(path)
