"""The proxy contract: score an architecture (higher is better) and say what it cost.

Short-training proxies also take ``report``, a callback ``report(step, accuracy)
-> bool`` called with intermediate validation accuracies (fractions in [0, 1]);
returning True asks the proxy to stop, and it raises ``ProxyPruned``. The search
maps that to ``optuna.TrialPruned``, e.g.::

    def report(step, accuracy):
        trial.report(accuracy, step)
        return trial.should_prune()

Zero-cost proxies never call it.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

from nas.arch import ArchSpec
from nas.errors import NasError

Report = Callable[[int, float], bool]


class ProxyError(NasError):
    """A proxy failed or produced NaN/inf; the search records a failed trial and goes on."""


class ProxyPruned(Exception):
    """``report`` asked to stop: the candidate was pruned at ``step`` (not an error)."""

    def __init__(self, step: int, accuracy: float) -> None:
        super().__init__(f"pruned at step {step} (accuracy {accuracy:.4f})")
        self.step, self.accuracy = step, accuracy


@dataclass(frozen=True)
class ProxyResult:
    score: float
    seconds: float


class Proxy(ABC):
    """Subclasses set ``name`` and implement ``score``; ``evaluate`` times and checks it."""

    name: ClassVar[str]
    needs_data: ClassVar[bool] = False  # True: useless without a real dataset (nas-inspect loads one)
    uses_data: ClassVar[bool] = False  # True: reads ``data`` when given (else a seeded noise batch)
    description: ClassVar[str] = ""
    evidence: ClassVar[str] = ""  # its measured rank correlation with trained accuracy, naming the experiments/ result file
    log_scale: ClassVar[bool] = False  # True: raw score spans orders of magnitude; ensembles add its logarithm
    options: ClassVar[tuple[str, ...]] = ()  # keyword options the constructor takes from the CLI (e.g. "supernet")

    def prepare(self, *, space: Any = None, data: Any = None) -> None:
        """Called once before the first candidate: load what the proxy needs and refuse what does not fit.

        A search then fails at once with one line, instead of recording every trial as failed.
        """

    @abstractmethod
    def score(self, arch: ArchSpec, *, seed: int = 0, data: Any = None, report: Report | None = None) -> float:
        """Higher means a better expected accuracy."""

    def evaluate(self, arch: ArchSpec, *, seed: int = 0, data: Any = None, report: Report | None = None) -> ProxyResult:
        start = time.perf_counter()
        try:
            value = float(self.score(arch, seed=seed, data=data, report=report))
        except (ProxyError, ProxyPruned):
            raise
        except MemoryError:
            raise ProxyError(f"proxy {self.name!r} ran out of memory on {arch.name}") from None
        except Exception as error:  # torch raises RuntimeError for OOM and shape bugs; a plugin may raise anything
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ProxyError(f"proxy {self.name!r} failed on {arch.name}: {message}") from None
        if not math.isfinite(value):
            raise ProxyError(f"proxy {self.name!r} returned {value} for {arch.to_string()[:80]}...")
        return ProxyResult(value, time.perf_counter() - start)
