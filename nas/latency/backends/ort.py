"""onnxruntime backend: export each op, quantize for int8, time it with an execution provider.

``CPUExecutionProvider`` by default; ``CUDAExecutionProvider``,
``TensorrtExecutionProvider`` or ``QNNExecutionProvider`` when the process runs
on a host that has them (``nas-profile --device gpu --provider CUDAExecutionProvider``).
"""

from __future__ import annotations

import platform
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nas.latency.backends import BackendError, Job, MeasureResult, OnEntry
from nas.latency.host import fingerprint
from nas.latency.profile import TimingOptions, export_op, op_input_shape, time_model


def host_cpu() -> str:
    """CPU model name (Linux), else whatever ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def available_providers() -> list[str]:
    try:
        import onnxruntime as ort
    except ImportError:
        return []
    return list(ort.get_available_providers())


class OrtBackend:
    """Measured entries: one small ONNX model per op, timed with onnxruntime."""

    name = "ort"
    source = "measured"

    def __init__(
        self,
        *,
        device: Any,
        provider: str | None = None,
        out: Path | None = None,
        threads: int = 1,
        timing: TimingOptions | None = None,
        progress: bool = True,
        **_: Any,
    ) -> None:
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            raise BackendError("the ort backend needs onnxruntime: pip install onnxruntime") from None
        self.device = device
        self.provider = provider or getattr(device, "provider", None) or "CPUExecutionProvider"
        if self.provider not in available_providers():
            raise BackendError(
                f"execution provider {self.provider} is not available here (available: {', '.join(available_providers())}); "
                f"run nas-profile on a host that has it (e.g. onnxruntime-gpu for CUDAExecutionProvider)"
            )
        self.timing = timing or TimingOptions(threads=threads)
        self.out = Path(out) if out else None  # keep the exported op models there (else a temporary folder)
        self.progress = progress

    def header(self) -> dict[str, Any]:
        import onnxruntime as ort

        return {
            "runtime": "onnxruntime",
            "runtime_version": ort.__version__,
            "provider": self.provider,
            "graph_optimization": "ORT_ENABLE_ALL",
            **self.timing.header(),
            "host_cpu": host_cpu(),
            "host": fingerprint(runtime="onnxruntime", provider=self.provider, threads=self.timing.threads),
            "method": "each op exported alone from its torch block (TorchScript exporter, opset 17), int8 by static QDQ quantization",
        }

    def measure(self, jobs: Sequence[Job], *, precision: str, on_entry: OnEntry | None = None) -> MeasureResult:
        """Export and time every op, then visit them again (``timing.visits``) and keep each op's lowest estimate.

        A busy spell of the machine lasts seconds, longer than one op's timing, and slows all its
        runs alike, which no statistic of those runs can see. A later visit, a whole pass over the
        ops away, is rarely in the same spell; noise only adds time, so the lower estimate wins.
        """
        from tqdm import tqdm

        result = MeasureResult()
        with tempfile.TemporaryDirectory(prefix="nas-profile-") as scratch:
            folder = self.out or Path(scratch)
            paths = []
            for index, job in enumerate(
                tqdm(jobs, desc=f"profiling {self.device.name} ({precision})", unit="op", disable=not self.progress or not jobs)
            ):
                path = export_op(job.op, folder, precision=precision, name=f"op{index:05d}" if self.out is None else _file_name(job.key))
                paths.append(path)
                self._keep(result, job, time_model(path, op_input_shape(job.op), provider=self.provider, options=self.timing), on_entry)
            for visit in range(2, self.timing.visits + 1):
                again = list(zip(jobs, paths))[::-1]  # the other way round: no op sits at the same point of a periodic load
                for job, path in tqdm(again, desc=f"visit {visit} (keeps the lower estimate)", unit="op", disable=not self.progress):
                    self._keep(result, job, time_model(path, op_input_shape(job.op), provider=self.provider, options=self.timing), on_entry)
        return result

    @staticmethod
    def _keep(result: MeasureResult, job: Job, entry: Any, on_entry: OnEntry | None) -> None:
        """Record ``entry`` unless the op already has a lower estimate."""
        before = result.entries.get(job.key)
        if before is not None and before.median_ms <= entry.median_ms:
            return
        result.entries[job.key] = entry
        if on_entry is not None:
            on_entry(job.key, entry)


def _file_name(key: str) -> str:
    return key.replace("/", "_").replace("@", "_at_").replace("=", "-")
