"""What the NAS-Bench-Macro supernet experiments share: the seeded draw and its halves, cached scores, bootstrap ranks.

The draw is experiments/proxy_correlation.py's (``--n`` keys of the 3,969 distinct networks, seed 0; half A the
first half, B the second), so that the zero-cost default, whose ensemble weights were fitted on that script's half
A, is held out on the same half B as the supernet's settings are.
"""

from __future__ import annotations

import itertools
import json
import random
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
from scipy import stats

from nas.arch import ArchSpec
from nas.io import atomic_write_text
from nas.space import SearchSpace


def draw(bench: dict[str, dict], *, n: int = 500, seed: int = 0) -> tuple[list[str], list[str], list[str]]:
    """``n`` distinct benchmark keys and their halves A and B, exactly as experiments/proxy_correlation.py draws them."""
    keys = random.Random(seed).sample(sorted(bench), n)
    return keys, keys[: n // 2], keys[n // 2 :]


def arch_of(space: SearchSpace, key: str) -> ArchSpec:
    """The space's network for a benchmark key (one digit per searched layer: 0 identity, 1 and 2 the two IBN choices)."""
    return space.arch(dict(zip(space.parameters, key)), name=f"macro-{key}")


def all_keys(space: SearchSpace) -> list[str]:
    """Every key of the space (3^8 = 6,561 for NAS-Bench-Macro), in the order of its parameters' choices."""
    return ["".join(combo) for combo in itertools.product(*space.parameters.values())]


def key_lookup(space: SearchSpace) -> dict[str, str]:
    """Architecture string → benchmark key for every key of the space (a search's trials carry their architecture)."""
    return {arch_of(space, key).to_string(): key for key in all_keys(space)}


class ScoreCache:
    """Per-key scores of one scorer, in a JSON file written atomically after every ``flush_every`` new scores."""

    def __init__(self, path: Path, *, flush_every: int = 10) -> None:
        self.path, self.flush_every = path, flush_every
        self.scores: dict[str, dict[str, float]] = json.loads(path.read_text()) if path.is_file() else {}
        self._new = 0

    def get(self, key: str, compute: Callable[[], float]) -> float:
        """The cached score of ``key``, or ``compute()``'s, timed (wall and CPU seconds) and stored."""
        if key not in self.scores:
            wall, cpu = time.perf_counter(), time.process_time()
            score = float(compute())
            self.scores[key] = {"score": score, "seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu}
            self._new += 1
            if self._new % self.flush_every == 0:
                self.flush()
        return self.scores[key]["score"]

    def flush(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps(self.scores, indent=0, sort_keys=True) + "\n")


def rank(scores: list[float], truth: list[float], *, seed: int = 0, rounds: int = 1000) -> dict[str, list[float]]:
    """Spearman and Kendall as [point, 5th, 95th percentile] of a bootstrap over networks (90 % interval)."""
    scores_a, truth_a = np.asarray(scores), np.asarray(truth)
    rng = np.random.default_rng(seed)
    point = {"spearman": stats.spearmanr(scores_a, truth_a)[0], "kendall": stats.kendalltau(scores_a, truth_a)[0]}
    draws: dict[str, list[float]] = {name: [] for name in point}
    for _ in range(rounds):
        pick = rng.integers(0, len(scores_a), size=len(scores_a))
        draws["spearman"].append(stats.spearmanr(scores_a[pick], truth_a[pick])[0])
        draws["kendall"].append(stats.kendalltau(scores_a[pick], truth_a[pick])[0])
    return {name: [float(point[name]), *map(float, np.nanpercentile(draws[name], [5, 95]))] for name in point}


def ceiling(bench: dict[str, dict], keys: list[str]) -> dict[str, float]:
    """Seed-to-seed ceiling: one training seed's test_acc against another's, mean over the three pairs (as proxy_correlation)."""
    pairs = [(0, 1), (0, 2), (1, 2)]

    def mean(fn: Any) -> float:
        return float(np.mean([fn([bench[k]["test_acc"][i] for k in keys], [bench[k]["test_acc"][j] for k in keys])[0] for i, j in pairs]))

    return {"spearman": mean(stats.spearmanr), "kendall": mean(stats.kendalltau)}


def fmt(values: list[float]) -> str:
    return f"{values[0]:+.3f} [{values[1]:+.3f}, {values[2]:+.3f}]"
