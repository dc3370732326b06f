"""The proxy contract: score an architecture (higher is better) and say what it cost."""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from nas.arch import ArchSpec
from nas.errors import NasError


class ProxyError(NasError):
    """A proxy failed or produced NaN/inf; the search records a failed trial and goes on."""


@dataclass(frozen=True)
class ProxyResult:
    score: float
    seconds: float


class Proxy(ABC):
    """Subclasses set ``name`` and implement ``score``; ``evaluate`` times and checks it."""

    name: ClassVar[str]
    needs_data: ClassVar[bool] = False
    description: ClassVar[str] = ""

    @abstractmethod
    def score(self, arch: ArchSpec, *, seed: int = 0, data: Any = None) -> float:
        """Higher means a better expected accuracy."""

    def evaluate(self, arch: ArchSpec, *, seed: int = 0, data: Any = None) -> ProxyResult:
        start = time.perf_counter()
        try:
            value = float(self.score(arch, seed=seed, data=data))
        except ProxyError:
            raise
        except MemoryError:
            raise ProxyError(f"proxy {self.name!r} ran out of memory on {arch.name}") from None
        except RuntimeError as error:  # torch raises RuntimeError for out-of-memory and shape bugs
            raise ProxyError(f"proxy {self.name!r} failed: {str(error).splitlines()[0]}") from None
        if not math.isfinite(value):
            raise ProxyError(f"proxy {self.name!r} returned {value} for {arch.to_string()[:80]}...")
        return ProxyResult(value, time.perf_counter() - start)
