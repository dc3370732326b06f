"""pareto.png: α labels of the reference networks never overlap, and the budget line is drawn."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from nas.exporting.plot import _spread_labels, plot_pareto  # noqa: E402
from nas.records import Reference, TrialRecord  # noqa: E402


def _boxes(fig, labels):  # type: ignore[no-untyped-def]
    renderer = fig.canvas.get_renderer()
    return [label.get_window_extent(renderer) for label in labels]


def test_crowded_labels_are_spread_apart() -> None:
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    labels = [
        ax.annotate(f"α={w}", (5 + 0.01 * i, 5), textcoords="offset points", xytext=(5, -11), fontsize=8)
        for i, w in enumerate((0.35, 0.5, 0.75, 1.0, 1.3))
    ]
    before = _boxes(fig, labels)
    assert before[0].overlaps(before[1])  # the crowding this guards against
    _spread_labels(fig, labels)
    after = _boxes(fig, labels)
    assert not any(a.overlaps(b) for i, a in enumerate(after) for b in after[i + 1 :])
    plt.close(fig)


def _row(number: int, latency: float, proxy: float) -> TrialRecord:
    return TrialRecord(
        number=number,
        state="COMPLETE",
        arch="a",
        latency_ms=latency,
        params=1,
        macs=1,
        proxy=proxy,
        proxy_seconds=0.1,
        score=proxy,
        values=(proxy, latency),
    )


def _ref(width: float, latency: float, proxy: float) -> Reference:
    return Reference(
        name=f"mobilenet_v2-{width}",
        width=width,
        arch=None,
        latency_ms=latency,
        proxy=proxy,
        score=proxy,  # type: ignore[arg-type]
        params=1,
        macs=1,
    )


def test_plot_with_close_references_and_default_budget(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    drawn: list[float] = []
    original = matplotlib.axes.Axes.axvline
    monkeypatch.setattr(matplotlib.axes.Axes, "axvline", lambda self, x=0, *a, **k: (drawn.append(x), original(self, x, *a, **k))[1])
    rows = [_row(i, 1.0 + 0.1 * i, 0.5 + 0.01 * i) for i in range(20)]
    refs = [_ref(0.35, 1.50, 0.60), _ref(0.5, 1.52, 0.601), _ref(0.75, 1.55, 0.603), _ref(1.0, 1.6, 0.605)]
    path = plot_pareto(rows, tmp_path / "pareto.png", references=refs, best=rows[5], title="t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert drawn == [1.6]  # no target: the budget is MobileNetV2 1.0's latency, as the driver chooses
    drawn.clear()
    plot_pareto(rows, tmp_path / "p2.png", references=refs, target_ms=1.3)
    assert drawn == [1.3]
