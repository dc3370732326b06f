"""Entry-point plugins: a real distribution on sys.path, loaded lazily, broken ones reported clearly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nas.plugins import PluginError, Registry, is_subclass_of


def _fake_distribution(root: Path, entry_points: str, modules: dict[str, str]) -> None:
    """Write an installed-looking distribution (dist-info + modules) under ``root``."""
    info = root / "fakeplugins-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeplugins\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(entry_points)
    for name, source in modules.items():
        (root / f"{name}.py").write_text(source)


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([sys.executable, "-m", "nas.cli.inspect", *args], capture_output=True, text=True, env=env, timeout=120)


ENTRY_POINTS = """\
[nas.blocks]
broken = fake_missing_module:Block
notablock = fake_good:NOT_A_BLOCK
wide = fake_good:WideConv

[nas.proxies]
half_params = fake_good:HalfParams
"""

GOOD_MODULE = """
from nas.blocks import Block, Conv
from nas.blocks.layers import ConvBNAct
from nas.proxies import Proxy
from nas.counting import count

NOT_A_BLOCK = 42


class WideConv(Block):
    name = "wide"

    def module(self, spec, *, in_channels):
        return ConvBNAct(in_channels=in_channels, out_channels=spec.out, kernel=spec.kernel, stride=spec.stride, act=spec.act)

    def convs(self, spec, *, in_channels):
        return [Conv(in_channels, spec.out, spec.kernel, spec.stride)]


class HalfParams(Proxy):
    name = "half_params"

    def score(self, arch, *, seed=0, data=None, report=None):
        return count(arch).params / 2
"""


@pytest.fixture
def plugin_root(tmp_path: Path) -> Path:
    _fake_distribution(tmp_path, ENTRY_POINTS, {"fake_good": GOOD_MODULE})
    return tmp_path


def test_plugins_are_listed_with_their_origin(plugin_root: Path) -> None:
    result = _run(plugin_root, "--list")
    assert result.returncode == 0, result.stderr
    assert "plugin fakeplugins (entry point nas.blocks)" in result.stdout
    assert "half_params" in result.stdout and "ibn" in result.stdout


def test_plugin_block_and_proxy_work_beside_a_broken_plugin(plugin_root: Path) -> None:
    arch = "r32_n10,conv_k3_s1_c16_relu,wide_k3_s2_c32_relu,ibn_k3_s1_e4_c32_relu,head_none"
    result = _run(plugin_root, arch, "--proxy", "half_params", "--json")
    assert result.returncode == 0, result.stderr
    assert '"proxy"' in result.stdout


@pytest.mark.parametrize(
    ("block", "expected"),
    [("broken", "cannot load block type 'broken' from plugin fakeplugins"), ("notablock", "is not a subclass of nas.blocks.Block")],
)
def test_broken_plugin_is_one_line_naming_the_entry_point(plugin_root: Path, block: str, expected: str) -> None:
    result = _run(plugin_root, f"r32_n10,conv_k3_s1_c16_relu,{block}_k3_s1_c16_relu,head_none")
    assert result.returncode == 2
    assert expected in result.stderr and "entry point nas.blocks" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_registry_checks_runtime_registrations() -> None:
    registry: Registry[type] = Registry(
        kind="thing", group="nas.test-none", builtins={}, check=is_subclass_of(int), expected="an int subclass"
    )
    registry.register("bool", bool)
    assert registry.get("bool") is bool
    with pytest.raises(PluginError, match="is not an int subclass"):
        registry.register("str", str)
    with pytest.raises(PluginError, match="unknown thing 'nope'"):
        registry.get("nope")
