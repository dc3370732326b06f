"""How a trial's (proxy score Q, table latency T) becomes what Optuna optimises.

``pareto`` keeps both numbers (maximise Q, minimise T); ``constrained`` maximises Q
subject to T ≤ target through Optuna's constraints (``trial.set_constraint``); ``tunas`` and
``mnas`` fold T into one reward around the target T0:

* TuNAS absolute reward (Bender et al., 2020): ``Q + β·|T/T0 − 1|``, β = −0.10;
* MnasNet soft reward (Tan et al., 2019): ``Q·(T/T0)^w``, w = −0.07.

Both rewards assume Q on an accuracy-like scale (the ``train`` proxy); with a
zero-cost proxy of another scale, pick ``--beta`` to match it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Literal, Sequence

from nas.errors import NasError
from nas.plugins import PluginError, Registry, is_subclass_of

Direction = Literal["maximize", "minimize"]


class Objective(ABC):
    """One way to score a trial; keyword-only constructor so every setting is named."""

    name: ClassVar[str]
    needs_target: ClassVar[bool] = False
    default_beta: ClassVar[float | None] = None
    description: ClassVar[str] = ""

    def __init__(self, *, target_ms: float | None = None, beta: float | None = None) -> None:
        if self.needs_target and target_ms is None:
            raise NasError(f"objective {self.name!r} needs --latency-target MS")
        if beta is not None and self.default_beta is None:
            raise NasError(f"--beta applies to the tunas and mnas objectives, not to {self.name!r}")
        self.target_ms = target_ms
        self.beta = self.default_beta if beta is None else beta

    @property
    def directions(self) -> list[Direction]:
        return ["maximize"]

    @abstractmethod
    def values(self, proxy: float, latency_ms: float) -> list[float]:
        """The value(s) told to Optuna, in the order of ``directions``."""

    def score(self, values: Sequence[float]) -> float:
        """One number to rank trials by (higher is better): the proxy or the reward."""
        return values[0]

    def constraint(self, latency_ms: float) -> list[float] | None:
        """``[T − target]`` when the target is a hard constraint (≤ 0 means feasible)."""
        return None

    def settings(self) -> dict[str, object]:
        return {"objective": self.name, "latency_target_ms": self.target_ms, "beta": self.beta}


class ParetoObjective(Objective):
    name = "pareto"
    description = "two objectives: maximise the proxy, minimise the latency"

    @property
    def directions(self) -> list[Direction]:
        return ["maximize", "minimize"]

    def values(self, proxy: float, latency_ms: float) -> list[float]:
        return [proxy, latency_ms]


class ConstrainedObjective(Objective):
    name = "constrained"
    needs_target = True
    description = "maximise the proxy subject to latency <= target (Optuna constraints)"

    def values(self, proxy: float, latency_ms: float) -> list[float]:
        return [proxy]

    def constraint(self, latency_ms: float) -> list[float]:
        assert self.target_ms is not None
        return [latency_ms - self.target_ms]


class TunasObjective(Objective):
    name = "tunas"
    needs_target = True
    default_beta = -0.10
    description = "TuNAS absolute reward Q + beta*|T/T0 - 1| (beta = -0.10)"

    def values(self, proxy: float, latency_ms: float) -> list[float]:
        assert self.target_ms is not None and self.beta is not None
        return [proxy + self.beta * abs(latency_ms / self.target_ms - 1.0)]


class MnasObjective(Objective):
    name = "mnas"
    needs_target = True
    default_beta = -0.07
    description = "MnasNet reward Q*(T/T0)^w (w = -0.07)"

    def values(self, proxy: float, latency_ms: float) -> list[float]:
        assert self.target_ms is not None and self.beta is not None
        return [proxy * (latency_ms / self.target_ms) ** self.beta]


OBJECTIVES: Registry[type[Objective]] = Registry(
    kind="objective",
    group="nas.objectives",
    builtins={
        "pareto": "nas.study.objectives:ParetoObjective",
        "constrained": "nas.study.objectives:ConstrainedObjective",
        "tunas": "nas.study.objectives:TunasObjective",
        "mnas": "nas.study.objectives:MnasObjective",
    },
    check=is_subclass_of(Objective),
    expected="a subclass of nas.study.objectives.Objective",
)


def get_objective(name: str | None, *, target_ms: float | None = None, beta: float | None = None) -> Objective:
    """``None`` picks the default: ``pareto``, or ``constrained`` when a target is given."""
    if name is None:
        name = "constrained" if target_ms is not None else "pareto"
    try:
        cls = OBJECTIVES.get(name)
    except PluginError as error:
        raise NasError(str(error)) from None
    return cls(target_ms=target_ms, beta=beta)
