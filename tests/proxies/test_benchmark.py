"""The default proxy against real ground truth (NAS-Bench-Macro), on a small sample."""

from __future__ import annotations

import json
import random

import pytest
from scipy import stats

from nas.proxies import get_proxy
from nas.space import get_space
from tests.conftest import shared_file


@pytest.mark.slow
def test_default_proxy_beats_flops_on_nas_bench_macro() -> None:
    bench = json.loads(shared_file("nas-bench-macro", "nas-bench-macro_cifar10.json").read_text())
    keys = random.Random(7).sample(sorted(bench), 60)
    space = get_space("nas_bench_macro")
    proxy = get_proxy("default")
    scores = [proxy.evaluate(space.arch(dict(zip(space.parameters, k))), seed=0).score for k in keys]
    truth = [bench[k]["mean_acc"] for k in keys]
    flops = [bench[k]["flops"] for k in keys]
    rho = stats.spearmanr(scores, truth)[0]
    assert rho > 0.8 and rho > stats.spearmanr(flops, truth)[0]
