"""Which context-correction fit predicts held-out whole networks best, with the host's drift taken out?

    python -m experiments.host_table_check --space mobiledet --variants-from results/host_table_check_mobiledet_run8.json \\
        --table results/host_table_check_mobiledet_run8_table.yaml

Question: ``nas-profile`` fits its context correction on 6 networks timed right after the ops, and a
later check finds errors of up to +11 % (mobiledet, run 8) on networks timed minutes later. Is that
the fitting rule (too few networks, the prior, per-class factors), or the host's drift between the
fit and the check? Method: no timing. An earlier check's 24 networks were all timed in one interleaved
pass; refitting the correction on K of them and scoring the other 24 − K leaves no drift between fit
and score, so what remains is the rule's own error. 200 random splits per rule; median and p10-p90.

Writes experiments/results/<result file's stem>_variants.{json,md}.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from experiments.host_table_check import RESULTS, score

VARIANTS = {  # name → fit_correction keywords; a prior weight of 100 makes every class factor the common one
    "class factors, towards 1 (nas-profile's rule before run 10)": {"towards_common": False},
    "class factors, towards a common factor": {"towards_common": True},
    "one common factor": {"towards_common": True, "prior_weight": 100.0},
}


def cross_validate_variants(result_file: Path, table_file: Path, *, splits: int = 200) -> int:
    """No timing: refit the correction on K of an earlier check's networks (all timed in one pass), score the others.

    Fitting and scoring networks timed in the same interleaved rounds leaves no drift between them, so this compares the
    fitting rules themselves, held out, over ``splits`` random splits (median and p10-p90 of each figure).
    """
    import random

    from nas.arch import ArchSpec
    from nas.latency.table import LatencyTable
    from nas.latency.validate import class_sums, fit_correction, layer_count

    result = json.loads(result_file.read_text())
    table = LatencyTable.load(table_file)
    archs = [ArchSpec.from_string(row["arch"]) for row in result["rows"]]
    truth = [row["measured_ms"] for row in result["rows"]]
    sums, layers = [class_sums(table, a) for a in archs], [layer_count(a) for a in archs]
    overhead = float((table.correction or {}).get("overhead_ms", 0.0))
    out: dict[str, Any] = {"source": str(result_file), "table": str(table_file), "splits": splits, "networks": len(archs), "fits": {}}
    for k in (6, 12):
        for name, keywords in VARIANTS.items():
            figures: dict[str, list[float]] = {"within_10pct": [], "mape_pct": [], "bias_pct": [], "spearman": []}
            for split in range(splits):
                order = list(range(len(archs)))
                random.Random(split).shuffle(order)
                fit_on, test = order[:k], order[k:]
                fit = fit_correction(
                    [sums[i] for i in fit_on], [layers[i] for i in fit_on], [truth[i] for i in fit_on], overhead_ms=overhead, **keywords
                )  # type: ignore[arg-type]
                refitted = LatencyTable(header={**table.header, "correction": fit}, entries=table.entries)
                f = score([refitted.latency(archs[i]) for i in test], [truth[i] for i in test])
                for key in figures:
                    figures[key].append(f[key])
            out["fits"][f"fit on {k}, {name}"] = {
                key: {
                    "median": round(float(np.median(v)), 4),
                    "p10": round(float(np.percentile(v, 10)), 4),
                    "p90": round(float(np.percentile(v, 90)), 4),
                }
                for key, v in figures.items()
            }
    stem = RESULTS / (result_file.stem + "_variants")
    lines = [
        f"# Correction variants cross-validated on {result_file.name} ({len(archs)} networks timed in one pass; no timing here)",
        "",
        f"Command: `python -m experiments.host_table_check --variants-from {result_file} --table {table_file}`. "
        f"Each row: the correction refitted on K random networks, scored on the other {len(archs)} − K; median (p10–p90) over {splits} splits.",
        "",
        "| fit | within ±10 % | MAPE | bias | Spearman |",
        "|---|---|---|---|---|",
    ]
    for name, f in out["fits"].items():
        cell = {key: f"{v['median']:.3g} ({v['p10']:.3g}–{v['p90']:.3g})" for key, v in f.items()}
        lines.append(f"| {name} | {cell['within_10pct']} | {cell['mape_pct']} % | {cell['bias_pct']} % | {cell['spearman']} |")
    stem.with_suffix(".json").write_text(json.dumps(out, indent=1) + "\n")
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0
