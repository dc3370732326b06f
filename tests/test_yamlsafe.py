"""The YAML loader for user files: aliases bounded (billion laughs), python tags refused, size capped."""

from __future__ import annotations

import time

import pytest
import yaml

from nas import yamlsafe
from nas.yamlsafe import YamlRefused, load_yaml


def _bomb(levels: int) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_in_milliseconds() -> None:
    start = time.perf_counter()
    with pytest.raises(YamlRefused, match="aliases expand to more than 2,000,000 nodes"):
        load_yaml(_bomb(9))
    assert time.perf_counter() - start < 1.0


def test_small_aliases_still_load() -> None:
    assert load_yaml("ops: &o {a: 1}\nfirst: *o\nsecond: *o\n") == {"ops": {"a": 1}, "first": {"a": 1}, "second": {"a": 1}}
    assert load_yaml(_bomb(3))["a3"][0][0][0][0] == "x"  # 10**4 leaves: fine


@pytest.mark.parametrize(
    "text", ["!!python/object/apply:os.system ['touch /tmp/nas-yaml-marker']", "x: !!python/name:os.system", "x: *undefined"]
)
def test_python_tags_and_bad_aliases_are_yaml_errors(text: str, tmp_path) -> None:
    with pytest.raises(yaml.YAMLError):
        load_yaml(text)


def test_oversized_text_is_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlsafe, "MAX_YAML_BYTES", 100)
    with pytest.raises(YamlRefused, match="larger than"):
        load_yaml("x: " + "y" * 200)
