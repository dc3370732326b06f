"""How far can the modelled devices (dsp, dsp-sm8550, edgetpu) be trusted, and where are they weak?

    python -m experiments.device_model_honesty

Question: the analytic models behind the modelled tables are fitted to a dozen published whole-network
latencies per chip. How wrong are they on a network they were not fitted on, per network family; do
they order two networks on the same chip the way the published numbers do (what a search needs); and
how do they do on squeeze-excite and h-swish / swish networks, where analytic DSP models usually fail?

Method (reads ../shared/data/published_latency/published_latency.csv, nothing is timed):
1. Leave-one-out per calibration network (``experiments._lib.calibration.calibrate``: the model is
   refitted without the network, then predicts it), grouped by family.
2. Published rows of the device's own selection (same chip, runtime, precision) that are not
   calibration networks but can be built (RegNetY-800MF: SE): predicted by the model fitted on all.
3. Orderings: every pair of networks of the selection, LOO (or out-of-set) prediction vs published;
   pairs whose published latencies differ by < 5 % are counted apart as near-ties.
4. SE / h-swish / swish networks (MobileNetV3-Small, EfficientNet-B0, RegNetY-800MF; MnasNet-0.5 as
   the plain control) on every published Hexagon row that has them: AI Hub publishes no w8a8 TFLite
   row for MobileNetV3 or EfficientNet, so their check is relative: latency / MobileNetV2's latency on
   the same chip, runtime and precision (float, w8a16, w8a8 as published), against the int8 model's
   ratio (the dsp model for every chip but SM8550 / QCS8550, which get dsp-sm8550's). A model that is
   right about what SE and h-swish cost relative to plain inverted residuals gets these ratios right
   across precisions roughly; a ratio that is off by 2x at every precision is a real weakness.
   The Edge TPU rows have no SE or h-swish network (EfficientNet-EdgeTPU and -Lite drop both).

Writes experiments/results/device_model_honesty.{json,md}.
"""

from __future__ import annotations

import itertools
import json
import statistics
from pathlib import Path
from typing import Any

from experiments._lib.calibration import CALIBRATIONS, calibrate, load_published
from experiments._lib.reference_networks import reference_prims
from nas.io import atomic_write_text

RESULTS = Path(__file__).resolve().parent / "results"

FAMILIES = {
    "mobilenet_v1": "MobileNetV1",
    "mobilenet_v2": "MobileNetV2",
    "mobilenet_v3_small": "MobileNetV3",
    "efficientnet_b0": "EfficientNet",
    "mnasnet0_5": "MnasNet",
    "resnet18": "ResNet",
    "resnet50": "ResNet",
    "resnet101": "ResNet",
    "resnet152": "ResNet",
    "resnext50_32x4d": "ResNeXt / Wide ResNet",
    "resnext101_32x8d": "ResNeXt / Wide ResNet",
    "wide_resnet50_2": "ResNeXt / Wide ResNet",
    "regnet_x_3_2gf": "RegNet",
    "regnet_y_800mf": "RegNet",
    "googlenet": "Inception",
    "squeezenet1_1": "SqueezeNet",
    "densenet121": "DenseNet",
    "shufflenet_v2_x0_5": "ShuffleNetV2",
    "vgg16": "VGG",
    "vgg19": "VGG",
}
#: networks with squeeze-excite or a non-fusable activation (h-swish, swish), and the plain control
FEATURES = {
    "mobilenet_v3_small": "SE + h-swish",
    "efficientnet_b0": "SE + swish",
    "regnet_y_800mf": "SE",
    "mnasnet0_5": "plain (control)",
}
#: published model name (AI Hub) → reference network, for rows outside the calibration set
OUT_OF_SET = {
    "regnet_y_800mf": "regnet_y_800mf",
    "mobilenet_v3_small": "mobilenet_v3_small",
    "efficientnet_b0": "efficientnet_b0",
    "mnasnet05": "mnasnet0_5",
}
NEAR_TIE = 0.05


def orderings(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Each pair of networks: does the prediction order them as the published latencies do?"""
    right, wrong, ties, wrong_pairs = 0, 0, 0, []
    for a, b in itertools.combinations(rows, 2):
        pa, pb = a["published_ms"], b["published_ms"]
        if abs(pa - pb) / min(pa, pb) < NEAR_TIE:
            ties += 1
            continue
        if (pa < pb) == (a["predicted_ms"] < b["predicted_ms"]):
            right += 1
        else:
            wrong += 1
            wrong_pairs.append(
                f"{a['network']} {pa:g} ms vs {b['network']} {pb:g} ms (model {a['predicted_ms']:.3g} vs {b['predicted_ms']:.3g})"
            )
    decided = right + wrong
    return {
        "pairs": decided + ties,
        "near_ties": ties,
        "right": right,
        "wrong": wrong,
        "share_right": right / decided if decided else None,
        "wrong_pairs": wrong_pairs,
    }


def families(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, list[float]] = {}
    for row in rows:
        out.setdefault(FAMILIES.get(row["network"], row["network"]), []).append(row["error_pct"])
    return {
        name: {
            "n": len(errors),
            "median_abs_error_pct": statistics.median(abs(e) for e in errors),
            "errors_pct": [round(e, 1) for e in errors],
        }
        for name, errors in sorted(out.items())
    }


def device_study(device: str, published: list[dict[str, str]]) -> tuple[dict[str, Any], Any]:
    spec = CALIBRATIONS[device]
    result = calibrate(device, published)
    model = result.model
    rows = [
        {
            "network": r["network"],
            "published_model": r["published_model"],
            "published_ms": r["published_ms"],
            "predicted_ms": r["loo_ms"],
            "error_pct": r["loo_error_pct"],
            "how": "leave-one-out",
        }
        for r in result.rows
    ]
    for row in published:
        if spec.select(row) and row["model"] not in spec.networks and row["model"] in OUT_OF_SET:
            network = OUT_OF_SET[row["model"]]
            predicted = model.network_ms(reference_prims(network, int(row["input_size"].split("x")[0])))
            published_ms = float(row["latency_ms"])
            rows.append(
                {
                    "network": network,
                    "published_model": row["model"],
                    "published_ms": published_ms,
                    "predicted_ms": predicted,
                    "error_pct": 100 * (predicted / published_ms - 1),
                    "how": "out of set (never fitted)",
                    "features": FEATURES.get(network, ""),
                }
            )
    unbuilt = sorted({r["model"] for r in published if spec.select(r) and r["model"] not in spec.networks and r["model"] not in OUT_OF_SET})
    study = {
        "description": spec.description,
        "data": spec.source_note,
        "median_loo_error_pct": result.median_loo_pct,
        "rows": rows,
        "families": families(rows),
        "orderings": orderings(rows),
        "not_built": unbuilt,
    }
    return study, model


def chip_device(chipset: str) -> str:
    return "dsp-sm8550" if ("sm8550" in chipset or "qcs8550" in chipset) else "dsp"


def relative_checks(published: list[dict[str, str]], models: dict[str, Any]) -> list[dict[str, Any]]:
    """SE / h-swish networks vs MobileNetV2 on every Hexagon chip, runtime and precision that publishes both."""
    anchor: dict[tuple[str, str, str], float] = {}
    for row in published:
        if row["target"] == "dsp" and row["model"] == "mobilenet_v2":
            anchor.setdefault((row["chipset"], row["runtime"], row["precision"]), float(row["latency_ms"]))
    model_v2 = {d: m.network_ms(reference_prims("mobilenet_v2")) for d, m in models.items()}
    checks = []
    for row in published:
        network = OUT_OF_SET.get(row["model"])
        key = (row["chipset"], row["runtime"], row["precision"])
        if row["target"] != "dsp" or network not in FEATURES or key not in anchor or "SAME job_id" in row["note"]:
            continue
        device = chip_device(row["chipset"])
        model = models[device]
        ratio_model = model.network_ms(reference_prims(network)) / model_v2[device]
        ratio_published = float(row["latency_ms"]) / anchor[key]
        checks.append(
            {
                "network": network,
                "features": FEATURES[network],
                "chipset": row["chipset"],
                "runtime": row["runtime"].split(" ")[0],
                "precision": row["precision"],
                "published_ms": float(row["latency_ms"]),
                "mobilenet_v2_ms": anchor[key],
                "ratio_published": ratio_published,
                "model": device,
                "ratio_model": ratio_model,
                "ratio_error_pct": 100 * (ratio_model / ratio_published - 1),
                "same_order_as_v2": (ratio_model < 1) == (ratio_published < 1),
            }
        )
    return checks


def summarise_relative(checks: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for network in FEATURES:
        mine = [c for c in checks if c["network"] == network]
        if mine:
            out[network] = {
                "features": FEATURES[network],
                "rows": len(mine),
                "median_ratio_error_pct": statistics.median(c["ratio_error_pct"] for c in mine),
                "median_ratio_published": statistics.median(c["ratio_published"] for c in mine),
                "ratio_model_dsp": next((c["ratio_model"] for c in mine if c["model"] == "dsp"), None),
                "same_order_as_v2": sum(c["same_order_as_v2"] for c in mine) / len(mine),
            }
    return out


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Modelled devices: leave-one-out, orderings, squeeze-excite and h-swish",
        "",
        "Generated by `python -m experiments.device_model_honesty` from `../shared/data/published_latency/published_latency.csv` (no timing; deterministic).",
        "",
    ]
    for device, study in report["devices"].items():
        o = study["orderings"]
        lines += [
            f"## `{device}`: {study['description']}",
            "",
            f"Data: {study['data']}. Median |leave-one-out error| {study['median_loo_error_pct']:.1f} % over the calibration networks.",
            "",
            "| family | networks | median abs. error | errors |",
            "|---|---|---|---|",
            *[
                f"| {name} | {f['n']} | {f['median_abs_error_pct']:.1f} % | {', '.join(f'{e:+.0f} %' for e in f['errors_pct'])} |"
                for name, f in study["families"].items()
            ],
            "",
            "| network | published | predicted | error | how |",
            "|---|---|---|---|---|",
            *[
                f"| {r['network']} ({r['published_model']}){' — ' + r['features'] if r.get('features') else ''} | {r['published_ms']:g} ms | {r['predicted_ms']:.3g} ms | {r['error_pct']:+.1f} % | {r['how']} |"
                for r in study["rows"]
            ],
            "",
            f"Orderings: {o['right']} of {o['right'] + o['wrong']} pairs right ({(o['share_right'] or 0):.0%}); {o['near_ties']} near-ties (published within {NEAR_TIE:.0%}) not counted.",
            "",
        ]
        if o["wrong_pairs"]:
            lines += ["Pairs in the wrong order:", "", *[f"- {p}" for p in o["wrong_pairs"]], ""]
        if study["not_built"]:
            lines += [f"Published rows of this selection not checked (no layer list here): {', '.join(study['not_built'])}.", ""]
    lines += [
        "## Squeeze-excite and h-swish networks on every Hexagon row that has them",
        "",
        "Latency relative to MobileNetV2 on the same chip, runtime and precision (published), against the int8 model's ratio.",
        "",
        "| network | rows | published ratio (median) | model ratio (dsp) | median ratio error | same side of MobileNetV2 |",
        "|---|---|---|---|---|---|",
    ]
    for network, s in report["relative_summary"].items():
        dsp = f"{s['ratio_model_dsp']:.2f}" if s["ratio_model_dsp"] is not None else "-"
        lines.append(
            f"| {network} ({s['features']}) | {s['rows']} | {s['median_ratio_published']:.2f} | {dsp} | {s['median_ratio_error_pct']:+.0f} % | {s['same_order_as_v2']:.0%} |"
        )
    lines += [
        "",
        "Every row:",
        "",
        "| network | chip | runtime | precision | published ms | MobileNetV2 ms | ratio published | ratio model | error |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in report["relative"]:
        lines.append(
            f"| {c['network']} | {c['chipset']} | {c['runtime']} | {c['precision']} | {c['published_ms']:g} | {c['mobilenet_v2_ms']:g} | {c['ratio_published']:.2f} | {c['ratio_model']:.2f} ({c['model']}) | {c['ratio_error_pct']:+.0f} % |"
        )
    return "\n".join(lines)


def main() -> int:
    published = load_published()
    devices, models = {}, {}
    for device in CALIBRATIONS:
        devices[device], models[device] = device_study(device, published)
    checks = relative_checks(published, {d: models[d] for d in ("dsp", "dsp-sm8550")})
    report = {"devices": devices, "relative": checks, "relative_summary": summarise_relative(checks)}
    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(RESULTS / "device_model_honesty.json", json.dumps(report, indent=1) + "\n")
    text = markdown(report)
    atomic_write_text(RESULTS / "device_model_honesty.md", text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
