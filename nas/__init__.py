"""Hardware-aware neural architecture search over MobileNet-style spaces.

The public API; everything else is implementation and may change::

    import nas
    space = nas.get_space("mobiledet")
    arch = space.random(0)
    print(nas.count(arch).macs, nas.get_device("dsp").load_table().predict(arch).latency_ms)
"""

import importlib
from typing import TYPE_CHECKING, Any

from nas.api import export, search, train, train_supernet
from nas.arch import ArchSpec, BlockSpec, HeadSpec
from nas.blocks import Block, get_block
from nas.channels import make_divisible
from nas.counting import CostReport, count
from nas.errors import NasError, SpecError
from nas.latency import LatencyTable, Prediction
from nas.latency.devices import Device, get_device
from nas.proxies import Proxy, ProxyError, get_proxy
from nas.space import SearchSpace, get_space
from nas.target import load_target

if TYPE_CHECKING:  # for type checkers and the API docs; at run time it loads lazily (below)
    from nas.builder import build_model

__all__ = [
    "ArchSpec",
    "Block",
    "BlockSpec",
    "CostReport",
    "Device",
    "HeadSpec",
    "LatencyTable",
    "NasError",
    "Prediction",
    "Proxy",
    "ProxyError",
    "SearchSpace",
    "SpecError",
    "build_model",
    "count",
    "export",
    "get_block",
    "get_device",
    "get_proxy",
    "get_space",
    "load_target",
    "make_divisible",
    "search",
    "train",
    "train_supernet",
]
__version__ = "0.1.0"

# Names whose modules import torch load on first use, so that spaces, counting and tables need no torch.
_LAZY = {"build_model": "nas.builder"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nas' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
