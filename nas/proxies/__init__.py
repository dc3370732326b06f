"""Accuracy proxies, looked up by name through the ``nas.proxies`` registry (plugins included)."""

from __future__ import annotations

from nas.errors import NasError
from nas.plugins import PluginError, Registry, is_subclass_of
from nas.proxies.base import Proxy, ProxyError, ProxyResult

PROXIES: Registry[type[Proxy]] = Registry(
    kind="proxy",
    group="nas.proxies",
    builtins={
        "params": "nas.proxies.structural:ParamsProxy",
        "macs": "nas.proxies.structural:MacsProxy",
        "depth": "nas.proxies.structural:DepthProxy",
    },
    check=is_subclass_of(Proxy),
    expected="a subclass of nas.proxies.Proxy",
)

DEFAULT_PROXY = "macs"  # replaced by the best measured zero-cost proxy (see experiments/proxy_correlation)


def get_proxy(name: str) -> Proxy:
    if name == "default":
        name = DEFAULT_PROXY
    try:
        return PROXIES.get(name)()
    except PluginError as error:
        raise NasError(str(error)) from None


def proxy_names() -> list[str]:
    return PROXIES.names()


__all__ = ["DEFAULT_PROXY", "PROXIES", "Proxy", "ProxyError", "ProxyResult", "get_proxy", "proxy_names"]
