"""The same nas-search command with the same seed and one worker gives the same trials, in two separate output folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.helpers import only_study, run_cli, tiny_search_args


@pytest.mark.parametrize(("sampler", "proxy"), [("nsga2", "default"), ("tpe", "naswot")])
def test_same_command_same_seed_same_trials(tiny_table: Path, tmp_path: Path, sampler: str, proxy: str) -> None:
    """Default NSGA-II with the default (torch, seeded) proxy, and TPE with a data-dependent zero-cost proxy."""
    runs = []
    for folder in ("a", "b"):
        result = run_cli(
            "nas-search",
            *tiny_search_args(tiny_table, tmp_path / folder, "--trials", 6, "--seed", 11, "--sampler", sampler, "--proxy", proxy),
        )
        assert result.returncode == 0, result.stderr
        study = only_study(f"sqlite:///{tmp_path / folder / 'study.db'}")
        runs.append([(t.number, t.state.name, t.params, t.values, t.user_attrs["arch"]) for t in study.trials])
    assert runs[0] == runs[1]
    assert len(runs[0]) == 6 and len({arch for *_, arch in runs[0]}) > 1, "a sampler that repeats one candidate would pass vacuously"
    assert (tmp_path / "a" / "best" / "arch.yaml").read_text() == (tmp_path / "b" / "best" / "arch.yaml").read_text()
