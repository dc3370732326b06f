"""Calibrate the analytic dsp / dsp-sm8550 / edgetpu models and write their modelled latency tables.

    taskset -c 0 python -m experiments.calibrate_devices

Reads ../shared/data/published_latency/published_latency.csv; writes latency_tables/{dsp,dsp-sm8550,edgetpu}.yaml
and experiments/results/calibration.{json,md}: per reference network the published latency, the model fitted on
all networks, the leave-one-out prediction and its error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tqdm import tqdm

from experiments._lib.calibration import CALIBRATIONS, WIDTHS, calibrate, modelled_table
from nas.io import atomic_write_text
from nas.space import space_names

RESULTS = Path(__file__).resolve().parent / "results"


def shipped_spaces() -> list[tuple[str, float | None]]:
    spaces: list[tuple[str, float | None]] = [(name, None) for name in space_names()]
    spaces += [(name, w) for name in ("mobilenet_v1", "mobilenet_v2") for w in WIDTHS if w != 1.0]
    return spaces


def markdown(results: dict) -> str:
    lines = []
    for device, result in results.items():
        lines += [
            f"### `{device}`: {result.spec.description}",
            "",
            f"Calibration data: {result.spec.source_note}. Median |error|: fit {result.median_fit_pct:.1f} %, "
            f"leave-one-out {result.median_loo_pct:.1f} % over {len(result.rows)} networks.",
            "",
            "| network | input | GMACs | published ms | fitted ms | leave-one-out ms | LOO error |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in result.rows:
            lines.append(
                f"| {r['network']} ({r['published_model']}) | {r['resolution']} | {r['gmacs']:.2f} | {r['published_ms']:.3f} | "
                f"{r['fitted_ms']:.3f} | {r['loo_ms']:.3f} | {r['loo_error_pct']:+.1f} % |"
            )
        params = ", ".join(f"{k} = {v:.4g}" for k, v in result.params.items())
        lines += [
            "",
            f"Fitted parameters: {params} (fixed at prior: {', '.join(k for k in result.params if k not in result.spec.fitted)}).",
            "",
        ]
    return "\n".join(lines)


def main() -> int:
    devices = sys.argv[1:] or list(CALIBRATIONS)
    results = {device: calibrate(device) for device in tqdm(devices, desc="calibrating")}
    spaces = shipped_spaces()
    for device, result in results.items():
        table = modelled_table(result, spaces)
        table.save()
        print(f"{device}: {len(table.entries)} modelled entries -> {table.path}; median LOO {result.median_loo_pct:.1f} %")
    RESULTS.mkdir(exist_ok=True)
    data = {
        d: {"params": r.params, "median_loo_error_pct": r.median_loo_pct, "median_fit_error_pct": r.median_fit_pct, "networks": r.rows}
        for d, r in results.items()
    }
    atomic_write_text(RESULTS / "calibration.json", json.dumps(data, indent=2) + "\n")
    atomic_write_text(RESULTS / "calibration.md", markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
