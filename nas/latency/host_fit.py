"""The second half of "one command measures this host": fit the context correction, then check it.

``nas-profile --device cpu --space S`` times each of the space's ops alone; a network is not the
sum of its ops timed alone (per-call overhead, caches, layout changes: ``validate.fit_correction``).
So, in the same run, a few random networks of each space are exported whole and timed, the
correction is fitted on some of them, and the table is scored on the others, which it never saw.
The held-out figures go into the header (``fidelity``), where ``nas-profile --list-devices`` shows
them. Seeds of both sets are disjoint from ``nas-profile validate``'s (0..N-1) so a later check stays
held out too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nas.arch import ArchSpec
from nas.latency.profile import space_jobs
from nas.latency.table import LatencyTable
from nas.latency.validate import network_timer, store, validate
from nas.space import SearchSpace, get_space

BUSY_SPREAD_PCT = 5.0  # whole networks' per-round estimates spread (IQR) above this share of the estimate: the machine was busy
CALIBRATION_SEED = 100_000  # the same networks as ``nas-profile validate --calibrate``
HELD_OUT_SEED = 200_000


@dataclass(frozen=True)
class FitPlan:
    """How many whole networks per space fit the correction and check it, and how long each is timed."""

    calibration: int = 6
    held_out: int = 8
    rounds: int = 8
    runs_per_round: int = 10

    def __post_init__(self) -> None:
        if self.calibration < 2 or self.held_out < 3:
            raise ValueError(f"a fit needs >= 2 calibration and >= 3 held-out networks per space, got {self.calibration}, {self.held_out}")


def space_label(space: SearchSpace, *, scaled: bool) -> str:
    """``mobiledet@224`` (``-a0.5`` when a width was given): the key of the header's ``profiling`` and ``fidelity``."""
    return f"{space.name}@{space.resolution}" + (f"-a{space.width:g}" if scaled else "")


def space_of_label(label: str) -> SearchSpace | None:
    """The space a header label names, or None when it cannot be rebuilt (a user's YAML space file)."""
    name, _, rest = label.partition("@")
    resolution, _, width = rest.partition("-a")
    try:
        return get_space(name, resolution=int(resolution), width=float(width) if width else None)
    except Exception:  # noqa: BLE001 - any failure means: not rebuildable here, leave its figures alone
        return None


def fit_networks(labelled: dict[str, SearchSpace], plan: FitPlan) -> tuple[list[ArchSpec], dict[str, list[ArchSpec]]]:
    """Calibration networks of every space, and per space the held-out networks."""
    calibration, groups = [], {}
    for label, space in labelled.items():
        calibration += [space.random(CALIBRATION_SEED + i).with_name(f"{space.name}-cal{i}") for i in range(plan.calibration)]
        groups[label] = [space.random(HELD_OUT_SEED + i).with_name(f"{space.name}-held{i}") for i in range(plan.held_out)]
    return calibration, groups


def reference_network(space: SearchSpace) -> ArchSpec:
    """The network timed before and after a space's ops (``nas.latency.drift.SpeedProbe``): its first calibration network."""
    return space.random(CALIBRATION_SEED).with_name(f"{space.name}-cal0")


def timed_networks(space: SearchSpace, plan: FitPlan) -> dict[str, ArchSpec]:
    """The networks the fit times for one space, keyed by seed (``fidelity.<space>.timed_ms`` in the header)."""
    calibration, groups = fit_networks({"space": space}, plan)
    seeds = [CALIBRATION_SEED + i for i in range(plan.calibration)] + [HELD_OUT_SEED + i for i in range(plan.held_out)]
    return dict(zip(map(str, seeds), [*calibration, *groups["space"]]))


def timed_ms(report: dict[str, Any], labels: Sequence[str], plan: FitPlan) -> dict[str, dict[str, float]]:
    """Each space's fit networks' measured times by seed, from ``validate``'s report (calibration rows in space order)."""
    out = {}
    for k, label in enumerate(labels):
        rows = report["calibration"][k * plan.calibration : (k + 1) * plan.calibration] + report["groups"][label]["rows"]
        seeds = [CALIBRATION_SEED + i for i in range(plan.calibration)] + [HELD_OUT_SEED + i for i in range(plan.held_out)]
        out[label] = {str(seed): round(float(row["measured"]["median_ms"]), 5) for seed, row in zip(seeds, rows)}
    return out


def spaces_to_fit(table: LatencyTable, labelled: dict[str, SearchSpace]) -> dict[str, SearchSpace]:
    """This run's spaces plus those fitted before (one correction serves the whole table, so it is refitted on all)."""
    spaces = dict(labelled)
    for label in table.header.get("fidelity") or {}:
        if label not in spaces and (space := space_of_label(str(label))) is not None:
            ops, heads = space.ops()
            if all(job.key in table.entries for job in space_jobs(ops, heads, table.precision)):
                spaces[label] = space
    return spaces


def needs_fit(table: LatencyTable, labels: Sequence[str], *, new_entries: int) -> bool:
    """A fit is due when entries were added or a space has no held-out figures yet."""
    fitted = table.header.get("fidelity") or {}
    return new_entries > 0 or not table.correction or any(label not in fitted for label in labels)


def fit_and_check(
    table: LatencyTable, labelled: dict[str, SearchSpace], *, backend: str, provider: str, plan: FitPlan, progress: bool = True
) -> dict[str, Any]:
    """Time the networks, fit the correction on the calibration ones, score the held-out ones; store both in the header."""
    spaces = spaces_to_fit(table, labelled)
    calibration, groups = fit_networks(spaces, plan)
    timer = network_timer(backend, provider=provider)
    report = validate(
        table,
        groups,
        calibration=calibration,
        rounds=plan.rounds,
        runs_per_round=plan.runs_per_round,
        progress=progress,
        timer=timer,
    )
    note = (
        f"held out: {plan.held_out} random networks per space (seeds {HELD_OUT_SEED}+), correction fitted on "
        f"{plan.calibration} others per space (seeds {CALIBRATION_SEED}+), by nas-profile in the run that measured the ops"
    )
    # the times themselves, so that a later check re-timing the same networks measures the host's drift since (nas.latency.drift)
    store(table, report, samples_note=note, extra={label: {"timed_ms": ms} for label, ms in timed_ms(report, list(spaces), plan).items()})
    return report


def summary(report: dict[str, Any], *, device: str = "cpu") -> list[str]:
    """Lines for the terminal: the correction and each space's held-out figures beside the measurement's spread."""
    lines = []
    if "correction" in report:
        c = report["correction"]
        lines.append(
            f"context correction fitted on {c['calibration_networks']} networks (fit error {c['calibration_mape_pct']:.1f} %), "
            f"per-call overhead {c['overhead_ms'] * 1000:.1f} µs"
        )
    for label, group in report["groups"].items():
        f = group["corrected"]
        lines.append(
            f"{label}: held out {f['n']} networks: {f['within_10pct']:.0%} within ±10 %, MAPE {f['mape_pct']:.1f} %, "
            f"Spearman {f['spearman']:.3f} (measurement: round-to-round spread {group['measurement_round_spread_pct']:.1f} % of the estimate)"
        )
        if group["measurement_round_spread_pct"] > BUSY_SPREAD_PCT:
            lines.append(
                f"WARNING: {label}: whole networks' rounds disagreed by {group['measurement_round_spread_pct']:.0f} % (IQR of the round estimates): "
                "this machine was busy while they were timed, so these figures (and the correction) say little; "
                "rerun on an idle machine, pinned to one core, with: "
                f"taskset -c 1 nas-profile --device {device} --space {label.split('@')[0]} --refit"
            )
    return lines
