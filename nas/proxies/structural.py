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
    name = "depth"
    description = "number of non-identity blocks"

    def score(self, arch: ArchSpec, *, seed: int = 0, data: Any = None, report: Report | None = None) -> float:
        from nas.blocks import get_block

        depth = 0
        for pos in list(arch.positions())[1:]:
            if get_block(pos.spec.type).convs(pos.spec, in_channels=pos.in_channels):
                depth += 1
        return float(depth)
