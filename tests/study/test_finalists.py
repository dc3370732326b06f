"""Finalists: the best few within the budget re-scored precisely, the chosen network the best of them on that score."""

from __future__ import annotations

from pathlib import Path

import optuna
import torch

from nas.api import search
from nas.proxies.data import synthetic_data
from nas.records import FINALISTS_ATTR, TrialRecord, choose_best, records
from nas.space import get_space
from nas.study.finalists import finalists
from nas.study.selection import select
from nas.study.study import open_storage
from nas.supernet import Supernet
from nas.supernet.checkpoint import save_supernet


def _row(number: int, score: float, latency: float, arch: str = "", final: float | None = None) -> TrialRecord:
    return TrialRecord(
        number=number,
        state="COMPLETE",
        arch=arch or f"a{number}",
        latency_ms=latency,
        params=1,
        macs=1,
        proxy=score,
        proxy_seconds=0.0,
        score=score,
        values=(score,),
        final_proxy=final,
        final_score=final,
    )


def test_finalists_are_the_best_distinct_networks_within_the_budget() -> None:
    rows = [_row(0, 0.9, 2.0), _row(1, 0.8, 1.0), _row(2, 0.8, 0.5), _row(3, 0.7, 0.9, arch="a2"), _row(4, 0.6, 0.4), _row(5, 0.5, 0.1)]
    assert [r.number for r in finalists(rows, 1.0, 3)] == [2, 1, 4]  # 0 is over budget; 3 repeats 2's network; ties → faster
    assert [r.number for r in finalists(rows, None, 2)] == [0, 2]
    assert finalists(rows, 0.05, 3) == []


def test_choose_best_takes_the_precise_score_among_the_finalists() -> None:
    rows = [_row(0, 0.9, 1.0, final=0.60), _row(1, 0.8, 1.0, final=0.70), _row(2, 0.95, 3.0, final=0.99), _row(3, 0.85, 0.5)]
    assert choose_best(rows, 1.0)[0].number == 1  # 2 is over budget; 3 was not a finalist
    assert choose_best([_row(0, 0.9, 1.0), _row(1, 0.8, 1.0)], 1.0)[0].number == 0  # none re-scored: the search's score


def test_a_supernet_search_re_scores_its_finalists_and_every_reader_chooses_the_same(tiny_table: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    data = synthetic_data()
    folder = tmp_path / "supernet"
    space = get_space("nas_bench_macro", resolution=16, num_classes=data.num_classes)
    save_supernet(folder, supernet=Supernet(space=space), data=data, validation={"fraction": 0.5, "seed": 0}, sampling={}, training={})
    common = {"space": "nas_bench_macro", "resolution": 16, "device": str(tiny_table), "data": "synthetic", "progress": False}
    result = search(**common, proxy="supernet", supernet=str(folder), trials=8, finalists=3, out=tmp_path / "run")
    study = optuna.load_study(study_name=result.study_name, storage=open_storage(result.storage))
    stored = study.user_attrs[FINALISTS_ATTR]
    rows = records(study)
    picked = finalists(rows, result.budget_ms, 3)  # by the screening score, as the search picked them
    assert sorted(stored) == sorted(str(r.number) for r in picked) and 1 <= len(stored) <= 3
    # the precise score is the proxy's rescore: every held-out image (256 of 512) instead of the screening sample
    from nas.proxies.supernet import SupernetProxy

    proxy = SupernetProxy(supernet=folder, val_size=1000)
    proxy.prepare(space=space, data=data)
    for number, (precise, score) in stored.items():
        arch = next(r for r in rows if r.number == int(number)).arch_spec()
        assert precise == score == proxy.score(arch, seed=0, data=data)
    best = max((r for r in rows if r.final_score is not None), key=lambda r: (r.final_score, -r.latency_ms))
    assert result.best.number == best.number == select(study, "best")[0].number  # nas-export --trial best agrees
    report = (tmp_path / "run" / "report.md").read_text()
    assert f"Finalists: the {len(stored)} best within the budget, re-scored precisely" in report
    assert "final_proxy" in (tmp_path / "run" / "trials.csv").read_text().splitlines()[0]
    again = search(**common, proxy="supernet", supernet=str(folder), trials=8, finalists=3, out=tmp_path / "run")  # resume: nothing new
    assert again.best.number == result.best.number
    off = search(**common, proxy="supernet", supernet=str(folder), trials=8, out=tmp_path / "off")  # the default: off
    off_study = optuna.load_study(study_name=off.study_name, storage=open_storage(off.storage))
    assert FINALISTS_ATTR not in off_study.user_attrs and "Finalists" not in (tmp_path / "off" / "report.md").read_text()
