"""Target devices: name, precision, and where their latency table comes from.

Built-ins and plugins share the ``nas.devices`` registry. A device's table file
lives in ``latency_tables/`` (or wherever ``table`` points) and states its own
provenance; ``Device.load_table`` reads it or says how to build it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nas.errors import NasError
from nas.latency.table import LatencyTable
from nas.plugins import PluginError, Registry

TABLES_DIR = Path(__file__).resolve().parents[1] / "latency_tables"


@dataclass(frozen=True)
class Device:
    """A latency target; ``backend`` names how its table entries are produced."""

    name: str
    description: str
    precision: str  # "fp32" or "int8"
    backend: str  # "ort", "modelled", "fitted", "imported", "bundle"
    table: str  # file name in latency_tables/ or an absolute path
    provider: str = "CPUExecutionProvider"
    build_hint: str = ""

    def table_path(self) -> Path:
        path = Path(self.table)
        return path if path.is_absolute() else TABLES_DIR / path

    def load_table(self) -> LatencyTable:
        path = self.table_path()
        if not path.exists():
            hint = self.build_hint or f"nas-profile --device {self.name} --space SPACE"
            raise NasError(f"device {self.name!r} has no latency table at {path}; build it with: {hint}")
        return LatencyTable.load(path)


CPU = Device(
    name="cpu",
    description="this host's CPU, onnxruntime CPUExecutionProvider, 1 thread, fp32",
    precision="fp32",
    backend="ort",
    table="cpu.yaml",
)
CPU_INT8 = Device(
    name="cpu-int8",
    description="this host's CPU, onnxruntime CPUExecutionProvider, 1 thread, int8 QDQ",
    precision="int8",
    backend="ort",
    table="cpu-int8.yaml",
)

DEVICES: Registry[Device] = Registry(
    kind="device",
    group="nas.devices",
    builtins={"cpu": "nas.devices:CPU", "cpu-int8": "nas.devices:CPU_INT8"},
    check=lambda obj: isinstance(obj, Device),
    expected="a nas.devices.Device",
)


def get_device(name: str) -> Device:
    try:
        return DEVICES.get(name)
    except PluginError as error:
        raise NasError(str(error)) from None


def device_names() -> list[str]:
    return DEVICES.names()
