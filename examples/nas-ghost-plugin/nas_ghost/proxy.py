"""An example proxy: how evenly the network spends its width (entropy of log channel counts)."""

from __future__ import annotations

import math
from typing import Any

from nas.arch import ArchSpec
from nas.proxies import Proxy, Report


class ChannelEntropyProxy(Proxy):
    name = "channel_entropy"
    description = "example plugin proxy: sum of log2 output widths of non-skip blocks"

    def score(self, arch: ArchSpec, *, seed: int = 0, data: Any = None, report: Report | None = None) -> float:
        return sum(math.log2(block.out) for block in arch.blocks if block.type != "skip")
