"""report.md: settings, table provenance, the chosen architecture with its per-layer latency, top-k, references."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from nas.exporting.summary import export_lines
from nas.io import atomic_write_text
from nas.latency.table import LatencyTable
from nas.records import Reference, TrialRecord, pareto_front
from nas.records import __doc__ as RULE_DOC

TOP_K = 10


def _fmt(value: Any, spec: str = ".4g") -> str:
    return "–" if value is None else format(value, spec)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def provenance(table: LatencyTable, space: str = "SPACE") -> list[str]:
    """The table's header as a list, with a plain warning when its numbers are modelled or from another host."""
    from nas.latency.host import host_mismatch

    lines = []
    mismatch = host_mismatch(table.header, device=table.device, space=space)
    if mismatch:
        lines.append(f"> **Host:** {mismatch}\n")
    if table.source == "modelled":
        lines.append(
            "> **MODELLED latencies.** This device's table comes from a model of the device, not from measurements on it; "
            "treat the latencies below as estimates and measure the exported model on the device.\n"
        )
    for key, value in table.header.items():
        if key in ("format", "version"):
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items())
        value = str(value)
        if len(value) > 400:
            value = value[:400] + " … (full text in the table file)"
        lines.append(f"- **{key}**: {value}")
    lines.append(f"- **file**: `{table.path}` ({len(table.entries)} entries)")
    return lines


def comparison(best: TrialRecord, references: Sequence[Reference], budget_ms: float | None) -> str:
    """Does the chosen architecture beat every MobileNetV2-α that fits the same budget on the objective's score?"""
    within = [
        r for r in references if r.latency_ms is not None and r.score is not None and (budget_ms is None or r.latency_ms <= budget_ms)
    ]
    if not within:
        return "No MobileNetV2-α reference fits the latency budget (or the table cannot price them), so there is nothing to compare."
    beaten = [r for r in within if best.score is not None and r.score is not None and best.score > r.score]
    names = ", ".join(r.name for r in within)
    if len(beaten) == len(within):
        return f"The chosen architecture **beats every MobileNetV2-α reference within the budget** ({names}) on the score."
    lost = ", ".join(r.name for r in within if r not in beaten)
    return f"The chosen architecture **does not beat** every MobileNetV2-α reference within the budget: not better than {lost}."


def _finalists(rows: Sequence[TrialRecord], best: TrialRecord) -> list[str]:
    """The re-scored finalists (``nas.study.finalists``), best precise score first; nothing when none was re-scored."""
    final = sorted((r for r in rows if r.final_score is not None), key=lambda r: (-(r.final_score or 0.0), r.latency_ms))
    if not final:
        return []
    lines = [
        "",
        f"### Finalists: the {len(final)} best within the budget, re-scored precisely",
        "",
        "Screened on the proxy's sample during the search, re-scored on the whole validation split; the chosen "
        "architecture is the best of them on the precise score.",
        "",
    ]
    return lines + _table(
        ["trial", "screening proxy", "precise proxy", "precise score", "latency (ms)", "chosen"],
        [
            [
                r.number,
                _fmt(r.proxy),
                _fmt(r.final_proxy),
                _fmt(r.final_score),
                f"{r.latency_ms:.3f}",
                "yes" if r.number == best.number else "",
            ]
            for r in final
        ],
    )


def write_report(
    path: str | Path,
    *,
    title: str,
    settings: dict[str, Any],
    command: str,
    table: LatencyTable,
    rows: Sequence[TrialRecord],
    best: TrialRecord,
    fits: bool,
    budget_ms: float | None,
    budget_label: str,
    references: Sequence[Reference],
    files: dict[str, Path],
    signal: str = "",
) -> Path:
    done = [r for r in rows if r.complete]
    failed = [r for r in rows if r.state == "FAIL"]
    pruned = [r for r in rows if r.state == "PRUNED"]
    front = pareto_front(rows)
    arch = best.arch_spec()
    prediction = table.predict(arch)
    lines = [f"# Search report: {title}", "", "## Settings", ""]
    lines += _table(["setting", "value"], [[key, "–" if value is None else f"`{value}`"] for key, value in settings.items()])
    lines += ["", f"Rerun or resume with: `{command}`", ""]
    if signal:  # which accuracy signal ranked the candidates, and where its measured worth comes from
        lines += ["## Accuracy signal", "", signal, ""]
    lines += [f"## Latency table of device `{table.device}`", ""]
    lines += provenance(table, str(settings.get("space") or "SPACE"))
    lines += ["", "## Result", ""]
    lines.append(f"{len(rows)} trials: {len(done)} complete, {len(failed)} failed, {len(pruned)} pruned; Pareto front of {len(front)}.")
    lines.append("")
    lines.append("Rule for the chosen architecture: " + " ".join(RULE_DOC.split("\n\n", 1)[1].split()))
    lines.append("")
    budget_text = f"{budget_ms:.3f} ms ({budget_label})" if budget_ms is not None else "none (no target, no MobileNetV2 1.0 latency)"
    fit_text = "fits the budget" if fits else "**no trial fits the budget: the fastest trial was chosen**"
    lines.append(f"Budget: {budget_text}. Chosen: **trial {best.number}**, {fit_text}.")
    lines.append("")
    lines += _table(
        ["trial", "proxy", "latency (ms)", "params", "MMACs", "score"],
        [[best.number, _fmt(best.proxy), f"{best.latency_ms:.3f}", f"{best.params:,}", f"{best.macs / 1e6:.1f}", _fmt(best.score)]],
    )
    lines += _finalists(rows, best)
    lines += ["", comparison(best, references, budget_ms), "", "### MobileNetV2 references (same device, resolution, proxy)", ""]
    lines += _table(
        ["network", "latency (ms)", "proxy", "score", "params", "MMACs", "within budget"],
        [
            [
                r.name,
                _fmt(r.latency_ms, ".3f"),
                _fmt(r.proxy),
                _fmt(r.score),
                f"{r.params:,}",
                f"{r.macs / 1e6:.1f}",
                "–" if r.latency_ms is None else ("yes" if budget_ms is None or r.latency_ms <= budget_ms else "no"),
            ]
            for r in references
        ],
    )
    lines += [
        "",
        "## Chosen architecture",
        "",
        f"`{best.arch}`",
        "",
        f"Per-layer latency from the table ({prediction.source}; "
        f"sum of entries {prediction.raw_sum_ms:.3f} ms, with the table's correction {prediction.latency_ms:.3f} ms):",
        "",
    ]
    total = prediction.latency_ms or 1.0
    lines += _table(
        ["layer", "table key", "ms", "share"],
        [[layer, f"`{key}`", f"{ms:.3f}", f"{ms / total:.1%}"] for layer, key, ms in prediction.breakdown],
    )
    ranked = sorted((r for r in done if budget_ms is None or r.latency_ms <= budget_ms), key=lambda r: (-(r.score or 0.0), r.latency_ms))[
        :TOP_K
    ]
    lines += ["", f"## Top {TOP_K} within the budget", ""]
    lines += _table(
        ["trial", "proxy", "latency (ms)", "params", "MMACs", "score", "arch"],
        [
            [r.number, _fmt(r.proxy), f"{r.latency_ms:.3f}", f"{r.params:,}", f"{r.macs / 1e6:.1f}", _fmt(r.score), f"`{r.arch[:60]}…`"]
            for r in ranked
        ],
    )
    if failed:
        lines += ["", "## Failed trials", ""]
        lines += _table(["trial", "reason"], [[r.number, r.fail_reason[:160]] for r in failed[:20]])
    exported = files.get("best/export.json")
    if exported is not None:  # trained or not, calibrated how, and the commands that deploy a trained model
        lines += ["", "## Deploying the chosen architecture", ""] + [f"- {line}" for line in export_lines(exported.parent)]
    lines += ["", "## Files", ""] + [f"- `{name}`: `{file}`" for name, file in files.items()]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return Path(path)
