"""Profiling bundle: the ops of a table as ONNX files, a manifest and a standalone runner for the device.

``nas-profile --device dsp --backend bundle --out bundle/ --space S`` writes
``bundle/ops/*.onnx`` (int8 QDQ for int8 devices, the same export as the ort backend),
``bundle/manifest.json`` and ``bundle/run_bundle.py`` (onnxruntime + numpy only). Run
it on the device, then ``nas-profile import --device dsp results.csv`` merges the timings.
No entries are produced here: the numbers come from the device.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from nas.errors import NasError
from nas.io import atomic_write_text
from nas.latency.backends import Job, MeasureResult, OnEntry

if TYPE_CHECKING:  # a runtime import would be circular (the table module loads backends)
    from nas.latency.table import Entry

RUNNER = Path(__file__).with_name("bundle_runner.py")
MANIFEST_FORMAT = "nas-profiling-bundle"


class BundleBackend:
    name = "bundle"
    source = "measured"  # entries arrive later, measured on the device, through `nas-profile import`

    def __init__(self, *, device: Any, provider: str | None = None, out: Path | None = None, **options: Any) -> None:
        if out is None:
            raise NasError("the bundle backend needs --out DIR (where the op models, manifest and runner are written)")
        self.device, self.out = device, Path(out)
        self.provider = provider or getattr(device, "provider", "CPUExecutionProvider")

    def header(self) -> dict[str, Any]:
        return {"backend": "bundle", "provider": self.provider}

    def measure(self, jobs: Sequence[Job], *, precision: str, on_entry: OnEntry | None = None) -> MeasureResult:
        write_bundle(jobs, self.out, device=self.device.name, precision=precision)
        note = (
            f"bundle of {len(jobs)} op(s) in {self.out}: copy it to the device and run\n"
            f"  python {self.out / 'run_bundle.py'} --provider {self.provider} --out results.csv\n"
            f"then: nas-profile import --device {self.device.name} results.csv --table {self.device.name}-measured.yaml"
        )
        return MeasureResult(entries={}, note=note)


def write_bundle(jobs: Sequence[Job], out: Path, *, device: str, precision: str) -> Path:
    """Export every job's op (resumable: existing files are kept) and write manifest + runner."""
    from nas.latency.profile import export_op, op_input_shape

    ops_dir = out / "ops"
    ops_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "manifest.json"
    previous = json.loads(manifest_path.read_text())["ops"] if manifest_path.exists() else []
    entries = {op["key"]: op for op in previous}
    for job in tqdm([j for j in jobs if j.key not in entries], desc="exporting ops", unit="op"):
        name = f"op{len(entries):05d}"
        path = export_op(job.op, ops_dir, precision=precision, name=name)
        if precision == "int8":
            (ops_dir / f"{name}.onnx").unlink(missing_ok=True)  # keep only the QDQ model the device runs
        entries[job.key] = {"key": job.key, "file": str(path.relative_to(out)), "input_shape": list(op_input_shape(job.op))}
    manifest = {"format": MANIFEST_FORMAT, "version": 1, "device": device, "precision": precision, "ops": list(entries.values())}
    atomic_write_text(manifest_path, json.dumps(manifest, indent=1) + "\n")
    shutil.copyfile(RUNNER, out / "run_bundle.py")
    return manifest_path


def read_results(path: Path) -> tuple[dict[str, Entry], dict[str, str]]:
    """Entries and run info (provider, runtime version, host) from a bundle runner's CSV."""
    import csv

    from nas.latency.table import checked_entry

    required = {"key", "median_ms", "p10_ms", "p90_ms", "runs"}
    try:
        with Path(path).open(newline="") as handle:
            reader = csv.DictReader(handle)
            missing = required - set(reader.fieldnames or ())
            if missing:
                raise NasError(f"{path}: not a bundle runner CSV (missing column(s) {', '.join(sorted(missing))})")
            rows = list(reader)
    except OSError as error:
        raise NasError(f"{path}: cannot read: {error.strerror}") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise NasError(f"{path}: not a bundle runner CSV (not UTF-8 text: {type(error).__name__})") from None
    entries, info = {}, {}
    for line, row in enumerate(rows, start=2):
        try:
            values = [float(row["median_ms"]), float(row["p10_ms"]), float(row["p90_ms"]), float(row["runs"])]
        except (TypeError, ValueError):
            raise NasError(f"{path}: line {line}: bad numbers in {dict(row)}"[:400]) from None
        entries[row["key"]] = checked_entry(row["key"], values, f"{path}: line {line}")  # finite, >= 0: as a table file
        info = {k: row.get(k, "") for k in ("provider", "runtime_version", "host")}
    return entries, info
