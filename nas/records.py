"""Reading a finished study: trial records, the Pareto front, the chosen best, references, hypervolume.

The best architecture is chosen by one rule for every objective: among complete
trials whose table latency fits the budget, the highest score (proxy for
``pareto``/``constrained``, reward for ``tunas``/``mnas``; ties → lower latency).
When the search re-scored its finalists (``nas.study.finalists``: the best few
within the budget, scored again on the whole validation split), the highest of
those precise scores decides among them instead. The budget is
``--latency-target`` when given, else the table latency of MobileNetV2 1.0 at
the same resolution on the same device; if no trial fits, the fastest trial is
chosen and the report says so.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import optuna

from nas.arch import ArchSpec
from nas.counting import count
from nas.errors import NasError
from nas.io import atomic_write_text

REFERENCE_WIDTHS = (0.35, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class TrialRecord:
    number: int
    state: str
    arch: str
    latency_ms: float
    params: int
    macs: int
    proxy: float | None
    proxy_seconds: float | None
    score: float | None  # what the objective ranks by (higher is better)
    values: tuple[float, ...]
    fail_reason: str = ""
    final_proxy: float | None = None  # the proxy re-scored precisely (finalists only)
    final_score: float | None = None  # ... and the objective's score from it

    @property
    def complete(self) -> bool:
        return self.state == "COMPLETE"

    def arch_spec(self) -> ArchSpec:
        return ArchSpec.from_string(self.arch, name=f"trial{self.number}")


@dataclass(frozen=True)
class Reference:
    """MobileNetV2 at width α on the same device and resolution (latency None: not in the table)."""

    name: str
    width: float
    arch: ArchSpec
    latency_ms: float | None
    proxy: float | None
    score: float | None
    params: int
    macs: int


FINALISTS_ATTR = "finalists"  # study user attribute: {trial number: [precise proxy, its score]}


def records(study: optuna.Study) -> list[TrialRecord]:
    finals = study.user_attrs.get(FINALISTS_ATTR, {})
    rows = []
    for trial in study.get_trials(deepcopy=False):
        attrs = trial.user_attrs
        if "arch" not in attrs:
            continue  # not written by nas-search
        proxy = attrs.get("proxy") or [None, None]
        values = tuple(trial.values) if trial.values is not None else ()
        rows.append(
            TrialRecord(
                number=trial.number,
                state=trial.state.name,
                arch=attrs["arch"],
                latency_ms=float(attrs["latency_ms"]),
                params=int(attrs["params"]),
                macs=int(attrs["macs"]),
                proxy=proxy[0],
                proxy_seconds=proxy[1],
                score=values[0] if values else None,
                values=values,
                fail_reason=str(attrs.get("fail_reason", attrs.get("pruned", ""))),
                final_proxy=finals.get(str(trial.number), [None, None])[0],
                final_score=finals.get(str(trial.number), [None, None])[1],
            )
        )
    return rows


def pareto_front(rows: Iterable[TrialRecord]) -> list[TrialRecord]:
    """Complete trials no other trial beats on both proxy (higher) and latency (lower), by latency."""
    done = sorted(((r.proxy, r) for r in rows if r.complete and r.proxy is not None), key=lambda pair: (pair[1].latency_ms, -pair[0]))
    front: list[TrialRecord] = []
    best = -math.inf
    for proxy, row in done:
        if not front or proxy > best:
            front.append(row)
            best = proxy
    return front


def choose_best(rows: Sequence[TrialRecord], budget_ms: float | None) -> tuple[TrialRecord, bool]:
    """(best trial, whether it fits the budget); see the module docstring for the rule."""
    done = [(r.score, r) for r in rows if r.complete and r.score is not None]
    if not done:
        raise NasError("the study has no complete trial yet; run the search first")
    fitting = [(score, r) for score, r in done if budget_ms is None or r.latency_ms <= budget_ms]
    rescored = [(r.final_score, r) for _, r in fitting if r.final_score is not None]
    if rescored:
        return max(rescored, key=lambda pair: (pair[0], -pair[1].latency_ms))[1], True
    if fitting:
        return max(fitting, key=lambda pair: (pair[0], -pair[1].latency_ms))[1], True
    return min(done, key=lambda pair: pair[1].latency_ms)[1], False


def references(
    *, table: Any, proxy: Any, objective: Any, resolution: int, num_classes: int, seed: int, data: Any, reference: str = "mobilenet_v2"
) -> list[Reference]:
    """The space's reference network (MobileNetV2 unless the space names another) at α ∈ {0.35, 0.5, 0.75, 1.0},
    priced by the same table and scored by the same proxy."""
    from nas.latency.table import MissingEntriesError
    from nas.proxies import ProxyError
    from nas.space import get_space

    refs = []
    for width in REFERENCE_WIDTHS:
        arch = get_space(reference, width=width, resolution=resolution, num_classes=num_classes).arch(name=f"{reference}-{width:g}")
        try:
            latency = table.latency(arch)
        except MissingEntriesError:
            latency = None
        try:
            score = proxy.evaluate(arch, seed=seed, data=data).score
        except ProxyError:
            score = None
        reward = objective.score(objective.values(score, latency)) if score is not None and latency is not None else None
        cost = count(arch)
        refs.append(Reference(f"MobileNetV2-{width}", width, arch, latency, score, reward, cost.params, cost.macs))
    return refs


def hypervolume(points: Iterable[tuple[float, float]], *, reference: tuple[float, float]) -> float:
    """2-D hypervolume of (proxy ↑, latency ↓) points against ``reference`` = (worst proxy, worst latency)."""
    q_ref, t_ref = reference
    kept = sorted((q, t) for q, t in points if q > q_ref and t < t_ref)
    front: list[tuple[float, float]] = []
    for q, t in sorted(kept, key=lambda p: (p[1], -p[0])):
        if not front or q > front[-1][0]:
            front.append((q, t))
    volume, previous = 0.0, q_ref
    for q, t in front:  # proxy and latency both increase along the front
        volume += (q - previous) * (t_ref - t)
        previous = q
    return volume


# -- CSV ------------------------------------------------------------------------------------------------
COLUMNS = ("number", "state", "proxy", "latency_ms", "params", "macs", "score", "proxy_seconds", "final_proxy", "arch", "fail_reason")


def to_csv(rows: Sequence[TrialRecord]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([getattr(row, column) if getattr(row, column) is not None else "" for column in COLUMNS])
    return buffer.getvalue()


def write_csvs(rows: Sequence[TrialRecord], out: Any) -> None:
    from pathlib import Path

    atomic_write_text(Path(out) / "trials.csv", to_csv(rows))
    atomic_write_text(Path(out) / "pareto.csv", to_csv(pareto_front(rows)))


__all__ = [
    "FINALISTS_ATTR",
    "REFERENCE_WIDTHS",
    "Reference",
    "TrialRecord",
    "choose_best",
    "hypervolume",
    "pareto_front",
    "records",
    "references",
    "to_csv",
    "write_csvs",
]
