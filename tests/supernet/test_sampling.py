"""Sampling rules as training tasks: SPOS, the sandwich rule with in-place distillation, strict fairness."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nas.counting import count
from nas.proxies.data import synthetic_data
from nas.space import SearchSpace, get_space, parse_space
from nas.supernet import Supernet, SupernetError
from nas.supernet.sampling import RULES, Sandwich, StrictFairness, TrainingTask, UniformPath, extreme_arch, make_task
from nas.training.supernet import RULES as RULE_NAMES


def _small_space() -> SearchSpace:
    data = {
        "name": "small",
        "resolution": 16,
        "num_classes": 4,
        "stem": {"type": "conv", "out": [8, 16], "kernel": 3, "stride": 1},
        "head": {"out": 32, "scaling": "none"},
        "stages": [
            {"out": [8, 16], "stride": 2, "layers": [1, 2], "block": {"type": ["ibn", "skip"], "kernel": [3, 5], "expansion": [2, 4]}},
            {"out": 24, "stride": 2, "layers": 2, "block": {"type": ["ibn", "fused_ibn"], "kernel": 3, "expansion": [2, 4]}},
        ],
    }
    return SearchSpace(definition=parse_space(data, source="small"))


def test_largest_and_smallest_are_the_extremes_by_macs() -> None:
    space = get_space("nas_bench_macro")
    largest, smallest = extreme_arch(space, largest=True), extreme_arch(space, largest=False)
    assert all(block.type == "ibn" and block.kernel == 5 for block in largest.blocks)
    assert all(block.type == "skip" for block in smallest.blocks)
    drawn = [count(space.random(seed)).macs for seed in range(50)]
    assert count(smallest).macs <= min(drawn) and count(largest).macs >= max(drawn)
    small = _small_space()
    assert extreme_arch(small, largest=True).stem.out == 16 and len(extreme_arch(small, largest=False).blocks) == 3


def test_the_paths_of_a_step_depend_only_on_seed_and_step() -> None:
    supernet = Supernet(space=_small_space())
    one, two, other = (UniformPath(supernet=supernet, seed=s) for s in (0, 0, 1))
    assert [one.random_arch(step) for step in range(8)] == [two.random_arch(step) for step in range(8)]
    assert [one.random_arch(step) for step in range(8)] != [other.random_arch(step) for step in range(8)]
    assert len({one.random_arch(step) for step in range(8)}) > 1


def test_sandwich_loss_is_labels_for_the_largest_and_its_soft_labels_for_the_others() -> None:
    torch.manual_seed(0)
    supernet = Supernet(space=_small_space())
    task = Sandwich(supernet=supernet, seed=0, random_paths=2)
    images, labels = torch.randn(8, 3, 16, 16), torch.randint(0, 4, (8,))
    state = {name: tensor.clone() for name, tensor in supernet.state_dict().items()}
    loss = task.loss(images, labels, step=3)
    loss.backward()
    assert supernet.classifier.weight.grad is not None
    supernet.load_state_dict(state)  # the same BN state for the hand computation
    supernet.train()
    with torch.no_grad():
        teacher = supernet(images, task.largest)
        expected = nn.functional.cross_entropy(teacher, labels)
        for arch in (task.smallest, task.random_arch(3, 0), task.random_arch(3, 1)):
            expected = expected + nn.functional.cross_entropy(supernet(images, arch), teacher.softmax(1))
    torch.testing.assert_close(loss.detach(), expected)
    assert task.settings() == {"rule": "sandwich", "seed": 0, "type_warmup": 0, "random_paths": 2}


@pytest.mark.parametrize("rule", ["spos", "sandwich", "fair"])
def test_a_few_steps_of_either_rule_learn_a_learnable_task(rule: str) -> None:
    torch.manual_seed(0)
    data = synthetic_data(n_train=256, n_val=128, num_classes=4, size=16)
    task: TrainingTask = make_task(rule, supernet=Supernet(space=_small_space()), seed=0)
    optimiser = torch.optim.SGD(task.module.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for step in range(30):
        images, labels = data.batch(32, seed=step)
        loss = task.loss(images, labels, step=step)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
    assert sum(losses[-5:]) < sum(losses[:5])
    metrics = task.evaluate(data.tensors(data.val_images), torch.from_numpy(data.val_labels))
    assert set(metrics) == {"top1", "loss", "top1_smallest"} and metrics["top1"] > 25  # percent; chance is 25


def test_fair_trains_every_type_of_every_layer_once_per_step_on_the_mean_loss() -> None:
    torch.manual_seed(0)
    supernet = Supernet(space=get_space("mobiledet_cifar").scaled(resolution=16, num_classes=4))
    task = StrictFairness(supernet=supernet, seed=0)
    kinds = {key: values for key, values in supernet.space.parameters.items() if key.endswith(".type")}
    assert max(len(values) for values in kinds.values()) == 4 and min(len(values) for values in kinds.values()) == 2
    for step in range(3):
        paths = task.fair_params(step)
        assert len(paths) == 4 and paths == task.fair_params(step)
        for key, values in kinds.items():
            dealt = [path[key] for path in paths]
            assert set(dealt) == set(values) and max(dealt.count(v) for v in values) == -(-4 // len(values)), (key, dealt)
    assert task.fair_params(0) != task.fair_params(1)
    images, labels = torch.randn(4, 3, 16, 16), torch.randint(0, 4, (4,))
    state = {name: tensor.clone() for name, tensor in supernet.state_dict().items()}
    loss = task.loss(images, labels, step=2)
    supernet.load_state_dict(state)
    with torch.no_grad():
        each = [nn.functional.cross_entropy(supernet(images, supernet.space.arch(p)), labels) for p in task.fair_params(2)]
    torch.testing.assert_close(loss.detach(), sum(each) / 4)
    assert task.settings() == {"rule": "fair", "seed": 0}


def test_the_parsers_rule_names_are_the_rules() -> None:
    assert tuple(RULES) == RULE_NAMES


def test_unknown_rule_is_one_line() -> None:
    with pytest.raises(SupernetError, match="unknown sampling rule 'greedy' \\(known: spos, sandwich, fair\\)"):
        make_task("greedy", supernet=Supernet(space=_small_space()))


def _typed_space() -> SearchSpace:
    """Block-type choices in each stage's first layer (no residual there), as in the mobiledet spaces."""
    data = {
        "name": "typed",
        "resolution": 16,
        "num_classes": 4,
        "stem": {"type": "conv", "out": 8, "kernel": 3, "stride": 1},
        "head": {"out": 32, "scaling": "none"},
        "stages": [
            {"out": 16, "stride": 2, "layers": 2, "block": {"type": ["ibn", "fused_ibn", "tucker"], "kernel": 3, "expansion": [2, 4]}},
            {"out": 24, "stride": 2, "layers": 1, "block": {"type": ["ibn", "fused_ibn"], "kernel": 3, "expansion": 2}},
        ],
    }
    return SearchSpace(definition=parse_space(data, source="typed"))


def test_forward_mean_averages_the_outputs_of_the_layers_where_the_architectures_differ() -> None:
    torch.manual_seed(0)
    space = _typed_space()
    supernet = Supernet(space=space).eval()
    params = {**space.random_params(0), "s1.b1.type": "ibn"}
    one, other = space.arch(params), space.arch({**params, "s1.b1.type": "fused_ibn"})
    x = torch.randn(2, 3, 16, 16)
    calls: list[tuple[torch.Tensor, torch.Tensor]] = []
    supernet.layer("s1_b1").register_forward_hook(lambda module, args, output: calls.append((args[0], output)))
    seen: list[torch.Tensor] = []
    supernet.layer("s1_b2").register_forward_hook(lambda module, args, output: seen.append(args[0]))
    with torch.no_grad():
        torch.testing.assert_close(supernet.forward_mean(x, [one]), supernet(x, one))
        torch.testing.assert_close(supernet.forward_mean(x, [one, one]), supernet(x, one))
        calls.clear(), seen.clear()
        supernet.forward_mean(x, [one, other])
    assert len(calls) == 2 and torch.equal(calls[0][0], calls[1][0])  # both types ran on the same input
    torch.testing.assert_close(seen[0], (calls[0][1] + calls[1][1]) / 2)  # the next layer read their mean
    narrower = space.arch({**params, "s1.b1.expansion": 4 if params["s1.b1.expansion"] == 2 else 2})
    supernet.forward_mean(x, [one, narrower])  # inner widths may differ; the layers' outputs must not


def test_the_type_warmup_mixes_the_first_layers_types_with_falling_probability() -> None:
    from nas.supernet.sampling import first_layer_variants

    space = _typed_space()
    params = space.random_params(0)
    variants = first_layer_variants(space, params)
    kept = params["s2.b1.type"]  # tucker is not a choice there: the drawn type stays
    assert [(v["s1.b1.type"], v["s2.b1.type"]) for v in variants] == [("ibn", "ibn"), ("fused_ibn", "fused_ibn"), ("tucker", kept)]
    assert all(
        {k: v for k, v in variant.items() if not k.endswith(".b1.type")} == {k: v for k, v in params.items() if not k.endswith(".b1.type")}
        for variant in variants
    )
    assert first_layer_variants(get_space("nas_bench_macro"), {}) == []  # no type choice in a first layer: nothing to warm up
    supernet = Supernet(space=space)
    task = UniformPath(supernet=supernet, seed=0, type_warmup=40)
    mixed: list[int] = []
    original = supernet.forward_mean

    def spy(x: torch.Tensor, archs: list) -> torch.Tensor:  # type: ignore[type-arg]
        mixed.append(len(archs))
        return original(x, archs)

    supernet.forward_mean = spy  # type: ignore[method-assign]
    images, labels = torch.randn(4, 3, 16, 16), torch.randint(0, 4, (4,))
    counts = []
    for steps in (range(0, 20), range(20, 40), range(40, 60)):
        mixed.clear()
        for step in steps:
            task.loss(images, labels, step=step)
        counts.append(sum(1 for n in mixed if n > 1))
    assert counts[0] > counts[1] > 0 and counts[2] == 0  # mostly mixed early, less later, never after the warm-up
    assert task.settings()["type_warmup"] == 40
    with pytest.raises(ValueError, match="type_warmup"):
        UniformPath(supernet=supernet, type_warmup=-1)
