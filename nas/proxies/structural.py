"""Structural baselines: parameter count, MACs, and the number of non-skip blocks."""

from __future__ import annotations

from typing import Any

from nas.arch import ArchSpec
from nas.counting import count
from nas.proxies.base import Proxy, Report


class ParamsProxy(Proxy):
    name = "params"
    description = "parameter count (baseline)"
    log_scale = True

    def score(self, arch: ArchSpec, *, seed: int = 0, data: Any = None, report: Report | None = None) -> float:
        return float(count(arch).params)


class MacsProxy(Proxy):
    name = "macs"
    description = "multiply-accumulates (FLOPs baseline)"
    log_scale = True

    def score(self, arch: ArchSpec, *, seed: int = 0, data: Any = None, report: Report | None = None) -> float:
        return float(count(arch).macs)


class DepthProxy(Proxy):
    """Blocks that are not skips: a skip's 1×1 projection at a stride or width change is still a skip
    (NAS-Bench-Macro's "identity" choice), not a layer of the network's depth."""

    name = "depth"
    description = "number of non-skip blocks"

    def score(self, arch: ArchSpec, *, seed: int = 0, data: Any = None, report: Report | None = None) -> float:
        return float(sum(block.type != "skip" for block in arch.blocks))
