"""The device registry's public name: the registry lives in ``nas.latency.devices``, below the latency code that uses it."""

from nas.latency.devices import DEVICES, MEASURING_BACKENDS, TABLES_DIR, Device, device_names, get_device

__all__ = ["DEVICES", "MEASURING_BACKENDS", "TABLES_DIR", "Device", "device_names", "get_device"]
