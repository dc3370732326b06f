"""nas-inspect through a real subprocess, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml


def nas_inspect(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nas.cli.inspect", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_table_output_for_a_reference_network() -> None:
    result = nas_inspect("mobilenet_v2")
    assert result.returncode == 0, result.stderr
    assert "3,504,872" in result.stdout and "300.77" in result.stdout
    assert "share by layer type" in result.stdout


def test_json_output_and_save(tmp_path: Path) -> None:
    target = tmp_path / "arch.yaml"
    result = nas_inspect("mobiledet", "--sample", "3", "--json", "--save", str(target))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"params", "macs", "layers"} <= set(data)
    layer = data["layers"][1]
    assert {"type", "in_shape", "out_shape", "params", "macs"} <= set(layer)
    assert sum(row["params"] for row in data["layers"]) == data["params"]
    again = json.loads(nas_inspect(str(target), "--json").stdout)
    assert again["params"] == data["params"] and again["arch"] == data["arch"]
    compact = json.loads(nas_inspect(data["arch"], "--json").stdout)
    assert compact["macs"] == data["macs"]


def test_width_and_resolution() -> None:
    data = json.loads(nas_inspect("mobilenet_v1", "--width", "0.5", "--resolution", "160", "--json").stdout)
    assert data["resolution"] == 160 and 70e6 < data["macs"] < 80e6


BASE_ARCH = {
    "name": "t",
    "resolution": 32,
    "num_classes": 10,
    "stem": {"type": "conv", "out": 16, "kernel": 3, "stride": 1, "act": "relu"},
    "blocks": [{"type": "ibn", "out": 16, "kernel": 3, "stride": 1, "expansion": 4, "act": "relu"}],
    "head": None,
}


def _broken(path: str, value: object) -> dict:
    data = json.loads(json.dumps(BASE_ARCH))
    *parents, last = path.split(".")
    node = data
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if value is KeyError:
        del node[int(last) if last.isdigit() else last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return data


BAD_ARCHS = [
    ("blocks.0.type", "octopus", "blocks[0].type"),
    ("blocks.0.kernel", 4, "blocks[0].kernel"),
    ("blocks.0.out", -16, "blocks[0].out"),
    ("blocks.0.stride", 3, "blocks[0].stride"),
    ("resolution", KeyError, "resolution"),
    ("blocks.0.act", "gelu", "blocks[0].act"),
    ("stem.out", KeyError, "stem.out"),
    ("blocks.0.expansion", "lots", "blocks[0].expansion"),
    ("num_classes", 0, "num_classes"),
    ("blocks", "ibn", "blocks"),
]


@pytest.mark.parametrize(("path", "value", "key"), BAD_ARCHS)
def test_bad_arch_yaml_is_one_line_error(tmp_path: Path, path: str, value: object, key: str) -> None:
    target = tmp_path / "bad.yaml"
    target.write_text(yaml.safe_dump(_broken(path, value)))
    result = nas_inspect(str(target))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert str(target) in lines[0] and key in lines[0]


def test_malformed_yaml_unknown_space_and_missing_sample(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: t\nblocks: [\n")
    for args, expected in (([str(bad)], "malformed YAML"), (["no_such_space"], "not a space name"), (["mobiledet"], "--sample")):
        result = nas_inspect(*args)
        assert result.returncode == 2 and expected in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_save_into_unwritable_place_keeps_existing_file(tmp_path: Path) -> None:
    existing = tmp_path / "keep.yaml"
    existing.write_text("precious\n")
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("x")
    result = nas_inspect("mobilenet_v2", "--save", str(blocked / "arch.yaml"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert existing.read_text() == "precious\n"


def test_list_shows_registries() -> None:
    result = nas_inspect("--list")
    assert result.returncode == 0
    for word in ("search spaces:", "mobiledet", "blocks:", "fused_ibn", "devices:", "proxies:"):
        assert word in result.stdout
