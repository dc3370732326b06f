"""Target devices: name, precision, and where their latency table comes from.

Built-ins and plugins share the ``nas.devices`` registry (entry-point group). A device's table file
lives in ``latency_tables/`` (or wherever ``table`` points) and states its own
provenance; ``Device.load_table`` reads it or says how to build it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nas.errors import NasError
from nas.latency.table import LatencyTable
from nas.plugins import PluginError, Registry
from nas.resources import host_table_file, shipped_dir, table_file, user_table_dir

TABLES_DIR = shipped_dir("latency_tables")  # read-only shipped tables; built ones go to user_table_dir()
MEASURING_BACKENDS = ("ort", "torch", "bundle")  # their tables are measurements; other backends' tables are modelled or imported


@dataclass(frozen=True)
class Device:
    """A latency target; ``backend`` names how its table entries are produced."""

    name: str
    description: str
    precision: str  # "fp32" or "int8"
    backend: str  # "ort", "torch", "modelled", "fitted", "imported", "bundle"
    table: str  # file name in latency_tables/ or an absolute path
    provider: str = "CPUExecutionProvider"
    build_hint: str = ""

    def table_path(self) -> Path:
        """The table the search uses.

        A device timed on this host (``ort``): this host's table in the per-user store, else a table
        under the device's file name (the user's, then the shipped one, which may be another host's:
        ``nas.latency.host.host_mismatch`` says so), else where this host's table would be built.
        Other devices: a measured table beside a modelled/imported default wins.
        """
        mine = self.host_table_path()
        if mine is not None and mine.exists():
            return mine
        measured = self.measured_table_path()
        if self.backend not in MEASURING_BACKENDS and measured.exists():
            return measured
        path = Path(self.table)
        found = path if path.is_absolute() else table_file(path)
        return mine if mine is not None and not found.exists() else found

    def host_table_path(self) -> Path | None:
        """This host's table in the per-user store (``<store>/<device>/<host key>.yaml``), for devices timed here."""
        if self.backend != "ort" or Path(self.table).is_absolute():
            return None
        from nas.latency.host import this_host_key

        key = this_host_key(self.provider)
        return None if key is None else host_table_file(self.name, key)

    def measured_table_path(self) -> Path:
        path = Path(self.table)
        path = path if path.is_absolute() else user_table_dir() / path
        return path.with_name(f"{self.name}-measured.yaml")

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
GPU = Device(
    name="gpu",
    description="an NVIDIA GPU, PyTorch CUDA graphs, batch 1, fp32 (TF32 convolutions), BN folded",
    precision="fp32",
    backend="torch",
    table="gpu.yaml",
    provider="CUDAExecutionProvider",  # for --backend ort with onnxruntime-gpu
    build_hint=(
        "nas-profile --device gpu --space SPACE (on a host with an NVIDIA GPU and a CUDA build of PyTorch; "
        "or --backend ort --provider CUDAExecutionProvider with onnxruntime-gpu)"
    ),
)

# -- modelled and imported targets (nas.latency.backends.analytic, nas.latency.hwnasbench) ----------
_REPLACE_MODELLED = (
    "modelled table shipped (python -m experiments.calibrate_devices rebuilds it); measured entries: "
    "nas-profile --device {name} --backend bundle --out bundle/ --space SPACE, run bundle/run_bundle.py on the device, "
    "then nas-profile import --device {name} results.csv --table NEW.yaml"
)
DSP = Device(
    name="dsp",
    description="Snapdragon 8 Gen 3 (SM8650) Hexagon HTP v75, w8a8 int8, TFLite + QNN delegate (modelled)",
    precision="int8",
    backend="analytic",
    table="dsp.yaml",
    provider="QNNExecutionProvider",
    build_hint=_REPLACE_MODELLED.format(name="dsp"),
)
DSP_SM8550 = Device(
    name="dsp-sm8550",
    description="Snapdragon 8 Gen 2 (SM8550) Hexagon HTP v73, w8a8 int8, TFLite + QNN delegate (modelled)",
    precision="int8",
    backend="analytic",
    table="dsp-sm8550.yaml",
    provider="QNNExecutionProvider",
    build_hint=_REPLACE_MODELLED.format(name="dsp-sm8550"),
)
EDGETPU = Device(
    name="edgetpu",
    description="Coral USB Accelerator (Edge TPU) on USB 3.0, int8, TFLite + libedgetpu (modelled)",
    precision="int8",
    backend="analytic",
    table="edgetpu.yaml",
    build_hint=_REPLACE_MODELLED.format(name="edgetpu"),
)
_IMPORT_HINT = (
    "nas-profile import --format hw-nas-bench --device {name} PATH/TO/fbnet_lut.json (HW-NAS-Bench's FBNet-space LUT; fbnet space only)"
)
PIXEL3 = Device(
    name="pixel3",
    description="Google Pixel 3 CPU, TFLite fp32 (HW-NAS-Bench FBNet-space LUT, imported)",
    precision="fp32",
    backend="imported",
    table="pixel3.yaml",
    build_hint=_IMPORT_HINT.format(name="pixel3"),
)
RASPI4 = Device(
    name="raspi4",
    description="Raspberry Pi 4 CPU, TFLite fp32 (HW-NAS-Bench FBNet-space LUT, imported)",
    precision="fp32",
    backend="imported",
    table="raspi4.yaml",
    build_hint=_IMPORT_HINT.format(name="raspi4"),
)
EDGEGPU = Device(
    name="edgegpu",
    description="NVIDIA Jetson TX2 GPU, fp32 (HW-NAS-Bench FBNet-space LUT, imported)",
    precision="fp32",
    backend="imported",
    table="edgegpu.yaml",
    build_hint=_IMPORT_HINT.format(name="edgegpu"),
)

DEVICES: Registry[Device] = Registry(
    kind="device",
    group="nas.devices",
    builtins={
        "cpu": "nas.latency.devices:CPU",
        "cpu-int8": "nas.latency.devices:CPU_INT8",
        "gpu": "nas.latency.devices:GPU",
        "dsp": "nas.latency.devices:DSP",
        "dsp-sm8550": "nas.latency.devices:DSP_SM8550",
        "edgetpu": "nas.latency.devices:EDGETPU",
        "pixel3": "nas.latency.devices:PIXEL3",
        "raspi4": "nas.latency.devices:RASPI4",
        "edgegpu": "nas.latency.devices:EDGEGPU",
    },
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
