"""Pareto front, the best-architecture rule and the 2-D hypervolume on hand-checkable points."""

from __future__ import annotations

import pytest

from nas.errors import NasError
from nas.records import TrialRecord, choose_best, hypervolume, pareto_front, to_csv


def _row(number: int, proxy: float, latency: float, state: str = "COMPLETE") -> TrialRecord:
    return TrialRecord(number, state, "r8_n10,conv_k3_s1_c8_relu,head_none", latency, 1, 1, proxy, 0.0, proxy, (proxy, latency))


ROWS = [_row(0, 1.0, 1.0), _row(1, 2.0, 2.0), _row(2, 1.5, 3.0), _row(3, 3.0, 4.0), _row(4, 9.0, 0.5, state="FAIL")]


def test_pareto_front_skips_dominated_and_failed_trials() -> None:
    assert [r.number for r in pareto_front(ROWS)] == [0, 1, 3]


def test_best_is_highest_score_within_budget_else_fastest() -> None:
    assert choose_best(ROWS, 2.5) == (ROWS[1], True)
    assert choose_best(ROWS, None) == (ROWS[3], True)
    assert choose_best(ROWS, 0.1) == (ROWS[0], False)
    with pytest.raises(NasError, match="no complete trial"):
        choose_best([ROWS[4]], 1.0)


def test_hypervolume_of_a_staircase() -> None:
    points = [(r.proxy, r.latency_ms) for r in ROWS[:4]]
    # reference (0, 5): strips (0..1)x(5-1) + (1..2)x(5-2) + (2..3)x(5-4) = 4 + 3 + 1
    assert hypervolume(points, reference=(0.0, 5.0)) == pytest.approx(8.0)
    assert hypervolume([], reference=(0.0, 5.0)) == 0.0
    assert hypervolume(points, reference=(0.0, 1.0)) == 0.0  # nothing beats the reference latency


def test_csv_has_one_line_per_trial() -> None:
    lines = to_csv(ROWS).splitlines()
    assert lines[0].startswith("number,state,proxy,latency_ms") and len(lines) == 6
