"""export.json and export.md (its README) of an export folder: what was written, trained or not, int8 calibration, accuracy, latency.

An export of an untrained network says so in both files and on stdout, with the commands that
train it and export the trained weights, so that nobody deploys random weights by mistake.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from nas.arch import ArchSpec
from nas.io import atomic_write_text

JSON_NAME, README_NAME = "export.json", "export.md"
FORMAT = "nas-export"
VERSION = 1


def next_commands(arch_ref: str, data_spec: str | None, out: Path) -> str:
    """The two commands that turn this untrained export into a trained one."""
    data = data_spec or "cifar10:PATH"
    name = out.name or "model"
    run, trained = shlex.quote(str(out.with_name(f"{name}-train"))), shlex.quote(str(out.with_name(f"{name}-trained")))
    return (
        f"nas-train {shlex.quote(arch_ref)} --data {shlex.quote(data)} --out {run} && "
        f"nas-export --weights {run}/weights.pt --data {shlex.quote(data)} --out {trained}"
    )


def build_record(
    *,
    arch: ArchSpec,
    out: Path,
    files: dict[str, Path],
    weights: dict[str, Any] | None,
    calibration: dict[str, Any] | None,
    accuracy: dict[str, Any] | None,
    latency: dict[str, Any] | None,
    data_spec: str | None,
) -> dict[str, Any]:
    """The content of export.json (plain data: numbers, strings, lists, dicts)."""
    arch_ref = str(out / "arch.yaml") if "yaml" in files else arch.to_string()
    record: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "arch": arch.name,
        "arch_string": arch.to_string(),
        "files": {name: path.name for name, path in files.items()},
        "trained": weights is not None,
        "weights": weights,
        "weights_origin": None if weights is None else str(weights.get("meta", {}).get("origin", "trained")),
        "data": data_spec,
        "int8_calibration": calibration,
        "accuracy": accuracy,
        "latency": latency,
    }
    if weights is None:
        record["untrained_note"] = (
            "UNTRAINED: the weights in these files are initialised, not trained: right for timing, not for predictions"
            + ("; int8 was calibrated on random noise" if calibration and not calibration["real_images"] else "")
        )
        record["next"] = next_commands(arch_ref, data_spec, out)
    elif record["weights_origin"] == "supernet-inherited":  # a start, not a trained network: say how to train it
        record["next"] = next_commands(arch_ref, data_spec, out)
    return record


def summary_lines(record: dict[str, Any]) -> list[str]:
    """A few lines for the terminal (and the README): trained or not, calibration, accuracy, latency."""
    lines: list[str] = []
    if not record["trained"]:
        lines += [record["untrained_note"], f"next: {record['next']}"]
    else:
        weights = record["weights"]
        if record.get("weights_origin") == "supernet-inherited":  # not a standalone training: say so wherever it is shown
            lines.append(f"SUPERNET-INHERITED weights, not trained standalone: {weights['path']} ({weights['meta'].get('note', '')})")
            lines.append(f"train it standalone before deploying: {record['next']}")
        else:
            lines.append(f"trained weights: {weights['path']}" + (f" ({weights['summary']})" if weights.get("summary") else ""))
    calibration = record["int8_calibration"]
    if calibration:
        lines.append(
            f"int8: static QDQ, {calibration['method']} calibration on {calibration['images']} inputs ({calibration['source']})"
            + (f"; {calibration['note']}" if calibration["note"] else "")
        )
    accuracy = record["accuracy"]
    if accuracy:
        text = f"top-1 on {accuracy['split']}: fp32 {accuracy['fp32_top1']:.2f} %"
        if accuracy["int8_top1"] is not None:
            text += f", int8 {accuracy['int8_top1']:.2f} % (drop {accuracy['drop_points']:.2f} points)"
        lines.append(text)
    latency = record["latency"]
    if latency:
        parts = [
            f"{precision} {m['median_ms']:.3f} ms (p10-p90 {m['p10_ms']:.3f}-{m['p90_ms']:.3f}, {m['runs']} runs)"
            for precision, m in latency["measured"].items()
        ]
        lines.append(f"latency on this host ('{latency['host'].get('model_name', '?')}', onnxruntime CPU, 1 thread): " + ", ".join(parts))
        predicted = latency["predicted"]
        if predicted:
            if predicted.get("latency_ms") is not None:
                lines.append(
                    f"table prediction for --device {predicted['device']} ({predicted['precision']}, {predicted['source']} table): "
                    f"{predicted['latency_ms']:.3f} ms"
                )
            else:
                lines.append(f"table of --device {predicted['device']} cannot price this network: {predicted['why_not']}")
    return lines


def export_lines(folder: Path) -> list[str]:
    """The summary lines of the export in ``folder`` (nothing when it has no export.json)."""
    path = Path(folder) / JSON_NAME
    return summary_lines(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else []


def readme(record: dict[str, Any]) -> str:
    """export.md, the README of the export folder: the files, then the summary lines."""
    lines = [f"# Export of {record['arch']}", ""]
    if not record["trained"]:
        lines += [f"> **{record['untrained_note']}.** Next: `{record['next']}`", ""]
    lines += ["## Files", ""] + [f"- `{name}` ({kind})" for kind, name in record["files"].items()]
    lines += ["", "## Summary", ""] + [f"- {line}" for line in summary_lines(record) if not line.startswith(("UNTRAINED", "next:"))]
    latency = record["latency"]
    if latency:
        lines += ["", f"Latency timing: {latency['rule']}."]
    lines += ["", f"Architecture: `{record['arch_string']}`", "", f"All figures: `{JSON_NAME}`."]
    return "\n".join(lines) + "\n"


def write_summary(folder: Path, record: dict[str, Any]) -> dict[str, Path]:
    """Write export.json and export.md into ``folder`` (the staged export), atomically."""
    atomic_write_text(folder / JSON_NAME, json.dumps(record, indent=2, sort_keys=False) + "\n")
    atomic_write_text(folder / README_NAME, readme(record))
    return {"summary": folder / JSON_NAME, "readme": folder / README_NAME}


__all__ = ["JSON_NAME", "README_NAME", "build_record", "export_lines", "next_commands", "readme", "summary_lines", "write_summary"]
