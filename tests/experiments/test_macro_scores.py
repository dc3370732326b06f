"""The NAS-Bench-Macro supernet experiments' shared pieces: the draw, key ↔ arch, the score cache, the regret search's cache."""

from __future__ import annotations

import json
import random

import pytest

from experiments._lib.macro_scores import ScoreCache, all_keys, arch_of, ceiling, draw, key_lookup, rank
from nas.proxies import get_proxy
from nas.space import get_space


def test_every_key_is_one_distinct_network_and_maps_back() -> None:
    space = get_space("nas_bench_macro")
    keys = all_keys(space)
    lookup = key_lookup(space)
    assert len(keys) == 3**8 == len(lookup)  # no two keys build the same architecture string
    for key in random.Random(0).sample(keys, 50):
        assert lookup[arch_of(space, key).to_string()] == key


def test_draw_is_proxy_correlations_draw_split_in_halves() -> None:
    bench = {f"{i:08d}": {} for i in range(3969)}
    keys, half_a, half_b = draw(bench, n=500, seed=0)
    assert keys == random.Random(0).sample(sorted(bench), 500)  # experiments/proxy_correlation.py's line
    assert half_a == keys[:250] and half_b == keys[250:] and not set(half_a) & set(half_b)


def test_score_cache_computes_each_key_once_and_persists(tmp_path) -> None:
    path = tmp_path / "scores.json"
    cache = ScoreCache(path, flush_every=1)
    calls: list[str] = []
    assert cache.get("0001", lambda: calls.append("0001") or 0.5) == 0.5
    assert cache.get("0001", lambda: calls.append("again") or 0.9) == 0.5
    assert calls == ["0001"]
    again = ScoreCache(path)
    assert again.scores["0001"]["score"] == 0.5 and json.loads(path.read_text())["0001"]["seconds"] >= 0


def test_rank_intervals_bracket_the_point_and_see_the_order() -> None:
    truth = [float(i) for i in range(60)]
    noisy = [t + random.Random(i).gauss(0, 8) for i, t in enumerate(truth)]
    for scores in (truth, noisy):
        table = rank(scores, truth, rounds=200)
        for point, low, high in table.values():
            assert low <= point <= high
    assert rank(truth, truth, rounds=50)["spearman"][0] == pytest.approx(1.0)
    assert rank([-t for t in truth], truth, rounds=50)["kendall"][0] == pytest.approx(-1.0)
    assert rank(noisy, truth, rounds=200)["spearman"][0] < 0.99


def test_ceiling_of_identical_seeds_is_one() -> None:
    bench = {str(i): {"test_acc": [i, i, i]} for i in range(20)}
    assert ceiling(bench, list(bench)) == pytest.approx({"spearman": 1.0, "kendall": 1.0})


def test_regret_search_scores_each_key_once(tmp_path) -> None:
    from experiments.supernet_regret import CachedProxy

    space = get_space("nas_bench_macro")
    lookup = key_lookup(space)
    proxy = CachedProxy(proxy=get_proxy("macs"), cache=ScoreCache(tmp_path / "macs.json"), lookup=lookup, data=None)
    arch = arch_of(space, "12012012")
    first, second = proxy.evaluate(arch, seed=3), proxy.evaluate(arch, seed=4)
    assert first.score == second.score == get_proxy("macs").evaluate(arch).score
    assert proxy.computed == 1 and list(proxy.cache.scores) == ["12012012"]
