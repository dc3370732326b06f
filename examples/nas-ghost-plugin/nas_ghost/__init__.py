"""Example mobilenas plugin: GhostNet bottleneck block, a space, a proxy and a device."""

from __future__ import annotations

import os
from pathlib import Path

from nas.devices import Device

SPACE_FILE = Path(__file__).with_name("ghostnet.yaml")

# A device whose table lives in the user's cache rather than in the framework's checkout.
_TABLE = Path(os.environ.get("NAS_GHOST_TABLE", Path.home() / ".cache" / "nas-ghost" / "ghost-cpu.yaml"))
DEVICE = Device(
    name="ghost-cpu",
    description="this host's CPU via onnxruntime (1 thread, fp32), table kept in the plugin user's cache",
    precision="fp32",
    backend="ort",
    table=str(_TABLE.resolve()),
    build_hint="nas-profile --device ghost-cpu --space ghostnet",
)
