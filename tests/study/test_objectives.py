"""Objectives: rewards as published, defaults, and the constraint Optuna reads."""

from __future__ import annotations

import pytest

from nas.errors import NasError
from nas.study.objectives import get_objective


def test_default_objective_is_pareto_or_constrained_with_a_target() -> None:
    assert get_objective(None).name == "pareto"
    assert get_objective(None, target_ms=5.0).name == "constrained"
    assert get_objective("pareto").directions == ["maximize", "minimize"]
    assert get_objective("pareto").values(0.7, 3.0) == [0.7, 3.0]


def test_tunas_absolute_reward() -> None:
    tunas = get_objective("tunas", target_ms=10.0)
    assert tunas.beta == -0.10
    assert tunas.values(0.75, 10.0) == [0.75]
    assert tunas.values(0.75, 12.0)[0] == pytest.approx(0.75 - 0.10 * 0.2)
    assert tunas.values(0.75, 8.0)[0] == pytest.approx(0.75 - 0.10 * 0.2)  # absolute: faster than target is penalised too
    assert get_objective("tunas", target_ms=10.0, beta=-0.5).values(0.75, 12.0)[0] == pytest.approx(0.65)


def test_mnas_soft_reward() -> None:
    mnas = get_objective("mnas", target_ms=10.0)
    assert mnas.beta == -0.07
    assert mnas.values(0.75, 20.0)[0] == pytest.approx(0.75 * 2.0**-0.07)
    assert mnas.values(0.75, 5.0)[0] > 0.75


def test_constrained_stores_latency_minus_target() -> None:
    constrained = get_objective("constrained", target_ms=4.0)
    assert constrained.values(0.5, 6.0) == [0.5]
    assert constrained.constraint(6.0) == [2.0]
    assert get_objective("pareto").constraint(6.0) is None


@pytest.mark.parametrize("name", ["constrained", "tunas", "mnas"])
def test_objectives_that_need_a_target_say_so(name: str) -> None:
    with pytest.raises(NasError, match="--latency-target"):
        get_objective(name)


def test_unknown_objective_and_misplaced_beta() -> None:
    with pytest.raises(NasError, match="unknown objective 'fast'.*pareto"):
        get_objective("fast")
    with pytest.raises(NasError, match="--beta applies"):
        get_objective("pareto", beta=-0.1)


def test_trial_yaml_loads_back_to_the_same_arch() -> None:
    from nas.arch import ArchSpec
    from nas.study.runner import arch_yaml
    from nas.space import get_space

    for name in ("mobiledet", "proxylessnas", "nas_bench_macro"):
        for seed in range(5):
            arch = get_space(name).random(seed)
            assert ArchSpec.from_yaml(arch_yaml(arch)) == arch
