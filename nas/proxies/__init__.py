"""Accuracy proxies, looked up by name through the ``nas.proxies`` registry (plugins included).

Measured rank correlations with trained accuracy: experiments/proxy_correlation.py
(results in experiments/results/proxy_correlation.md).
"""

from __future__ import annotations

import importlib
from typing import Any

from nas.errors import NasError
from nas.plugins import PluginError, Registry, is_subclass_of
from nas.proxies.base import Proxy, ProxyError, ProxyPruned, ProxyResult, Report

PROXIES: Registry[type[Proxy]] = Registry(
    kind="proxy",
    group="nas.proxies",
    builtins={
        "params": "nas.proxies.structural:ParamsProxy",
        "macs": "nas.proxies.structural:MacsProxy",
        "depth": "nas.proxies.structural:DepthProxy",
        "synflow": "nas.proxies.zero_cost:SynflowProxy",
        "naswot": "nas.proxies.zero_cost:NaswotProxy",
        "grad_norm": "nas.proxies.zero_cost:GradNormProxy",
        "snip": "nas.proxies.zero_cost:SnipProxy",
        "zen": "nas.proxies.zero_cost:ZenProxy",
        "zico": "nas.proxies.zero_cost:ZicoProxy",
        "swap": "nas.proxies.zero_cost:SwapProxy",
        "ensemble": "nas.proxies.ensemble:EnsembleProxy",
        "train": "nas.proxies.train:TrainProxy",
        "supernet": "nas.proxies.supernet:SupernetProxy",
    },
    check=is_subclass_of(Proxy),
    expected="a subclass of nas.proxies.Proxy",
)

# The best measured data-free proxy at <= 0.5 s (experiments/proxy_correlation.md): held-out Spearman 0.967
# on NAS-Bench-Macro vs 0.885 for naswot alone and 0.777 for FLOPs (seed-to-seed ceiling 0.983).
DEFAULT_PROXY = "ensemble"


def get_proxy(name: str, **options: Any) -> Proxy:
    """The proxy registered as ``name``; ``options`` (None = not given) go to a proxy that lists them in ``Proxy.options``."""
    if name == "default":
        name = DEFAULT_PROXY
    try:
        cls = PROXIES.get(name)
    except PluginError as error:
        raise NasError(str(error)) from None
    given = {key: value for key, value in options.items() if value is not None}
    foreign = sorted(set(given) - set(cls.options))
    if foreign:
        accepted = ", ".join(f"--{key.replace('_', '-')}" for key in cls.options) or "none"
        raise NasError(f"--{foreign[0].replace('_', '-')} is not an option of proxy {name!r} (its options: {accepted})")
    return cls(**given)


def proxy_names() -> list[str]:
    return PROXIES.names()


__all__ = [
    "DEFAULT_PROXY",
    "PROXIES",
    "DataError",
    "ImageData",
    "Proxy",
    "ProxyError",
    "ProxyPruned",
    "ProxyResult",
    "Report",
    "get_proxy",
    "load_data",
    "proxy_names",
]


# nas.proxies.data imports torch: its names load on first use, so picking a proxy needs no torch.
_LAZY = {"DataError": "nas.proxies.data", "ImageData": "nas.proxies.data", "load_data": "nas.proxies.data"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nas.proxies' has no attribute {name!r}")
