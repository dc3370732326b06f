"""Hardware-aware neural architecture search over MobileNet-style spaces.

The public API; everything else is implementation and may change::

    import nas
    space = nas.get_space("mobiledet")
    arch = space.random(0)
    print(nas.count(arch).macs, nas.get_device("dsp").load_table().predict(arch).latency_ms)
"""

from nas.api import export, search
from nas.arch import ArchSpec, BlockSpec, HeadSpec
from nas.blocks import Block, get_block
from nas.builder import build_model
from nas.channels import make_divisible
from nas.counting import CostReport, count
from nas.devices import Device, get_device
from nas.errors import NasError, SpecError
from nas.latency import LatencyTable, Prediction
from nas.proxies import Proxy, ProxyError, get_proxy
from nas.space import SearchSpace, get_space
from nas.target import load_target

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
]
__version__ = "0.1.0"
