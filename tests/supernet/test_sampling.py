"""Sampling rules as training tasks: SPOS and the sandwich rule with in-place distillation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nas.counting import count
from nas.proxies.data import synthetic_data
from nas.space import SearchSpace, get_space, parse_space
from nas.supernet import Supernet, SupernetError
from nas.supernet.sampling import Sandwich, TrainingTask, UniformPath, extreme_arch, make_task


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
    assert task.settings() == {"rule": "sandwich", "seed": 0, "random_paths": 2}


@pytest.mark.parametrize("rule", ["spos", "sandwich"])
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


def test_unknown_rule_is_one_line() -> None:
    with pytest.raises(SupernetError, match="unknown sampling rule 'greedy' \\(known: spos, sandwich\\)"):
        make_task("greedy", supernet=Supernet(space=_small_space()))
