"""pareto.png: every trial, the Pareto front, the chosen best and MobileNetV2-α on one latency/proxy plot."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from nas.io import atomic_write_bytes
from nas.records import Reference, TrialRecord, pareto_front

if TYPE_CHECKING:  # matplotlib is imported when a plot is drawn
    from matplotlib.figure import Figure
    from matplotlib.text import Annotation
    from matplotlib.transforms import Bbox


def _points(rows: Sequence[TrialRecord]) -> tuple[list[float], list[float]]:
    """(latencies, proxies) of the complete trials that have a proxy score."""
    scored = [(r.latency_ms, r.proxy) for r in rows if r.complete and r.proxy is not None]
    return [latency for latency, _ in scored], [proxy for _, proxy in scored]


def plot_pareto(
    rows: Sequence[TrialRecord],
    path: str | Path,
    *,
    references: Sequence[Reference] = (),
    best: TrialRecord | None = None,
    target_ms: float | None = None,
    budget_ms: float | None = None,
    budget_label: str = "",
    title: str = "",
    proxy_name: str = "proxy",
    latency_source: str = "measured",
) -> Path:
    """Plot and write atomically. The budget line is the latency budget the best was chosen under:
    ``budget_ms`` when given, else ``target_ms``, else MobileNetV2 1.0's latency (the driver's default rule)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done_ms, done_proxy = _points(rows)
    front_ms, front_proxy = _points(pareto_front(rows))
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    ax.scatter(done_ms, done_proxy, s=8, color="0.7", label=f"trials ({len(done_ms)})")
    ax.step(front_ms, front_proxy, where="post", color="tab:blue", lw=1.5)
    ax.scatter(front_ms, front_proxy, s=18, color="tab:blue", label=f"Pareto front ({len(front_ms)})", zorder=3)
    # (width, latency, proxy) of the references in the table
    shown = [(ref.width, ref.latency_ms, ref.proxy) for ref in references if ref.latency_ms is not None and ref.proxy is not None]
    labels: list[Annotation] = []
    if shown:
        ax.plot([ms for _, ms, _ in shown], [proxy for _, _, proxy in shown], "s--", color="tab:red", ms=6, label="MobileNetV2 α", zorder=4)
        labels = [
            ax.annotate(
                f"α={width:g}",
                (ms, proxy),
                textcoords="offset points",
                xytext=(-7, 4),
                ha="right",
                va="bottom",
                zorder=6,  # up-left of its marker: the α line rises to the right
                fontsize=8,
                color="tab:red",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
            )
            for width, ms, proxy in sorted(shown, key=lambda point: point[1])
        ]
    if best is not None and best.proxy is not None:
        ax.scatter(
            [best.latency_ms],
            [best.proxy],
            marker="*",
            s=180,
            color="gold",
            edgecolor="black",
            label=f"chosen: trial {best.number}",
            zorder=5,
        )
    if budget_ms is None and target_ms is not None:
        budget_ms, budget_label = target_ms, budget_label or "--latency-target"
    reference_1_ms = next((ms for width, ms, _ in shown if width == 1.0), None)
    if budget_ms is None and reference_1_ms is not None:
        budget_ms, budget_label = reference_1_ms, budget_label or "latency of MobileNetV2 1.0"
    if budget_ms is not None:
        ax.axvline(
            budget_ms,
            color="black",
            ls=":",
            lw=1.2,
            label=f"budget {budget_ms:.3g} ms ({budget_label})" if budget_label else f"budget {budget_ms:.3g} ms",
        )
    unit = "ms, MODELLED table" if latency_source == "modelled" else f"ms, {latency_source} table"
    ax.set_xlabel(f"latency ({unit})")
    ax.set_ylabel(f"proxy: {proxy_name} (higher is better)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    if shown:
        _spread_labels(fig, labels)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


def _spread_labels(fig: Figure, labels: list[Annotation]) -> None:
    """Move each α label down (then up) in steps of its own height until it overlaps no label placed before it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(fig.canvas, FigureCanvasAgg):  # plot_pareto draws with Agg, whose canvas has the renderer
        return
    renderer = fig.canvas.get_renderer()
    placed: list[Bbox] = []
    for label in labels:
        dx, dy = label.xyann
        height = label.get_window_extent(renderer).height * 72 / fig.dpi  # pixels -> offset points
        for step in (0, -1, 1, -2, 2, -3, 3, -4, 4):
            label.xyann = (dx, dy + step * height)
            box = label.get_window_extent(renderer)
            if not any(box.overlaps(other) for other in placed):
                break
        placed.append(label.get_window_extent(renderer))
