"""Recipe validation (one-line errors), parameter groups and the learning-rate schedule."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from nas.training.recipe import Recipe, TrainingError, build_optimizer, lr_factor, parameter_groups


def test_defaults_fill_in_the_optimiser_defaults() -> None:
    assert Recipe().learning_rate == 0.1 and Recipe().decay == 5e-4
    adamw = Recipe(optimizer="adamw")
    assert adamw.learning_rate == 2e-3 and adamw.decay == 0.05
    assert Recipe(lr=0.3).settings()["lr"] == 0.3


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("epochs", 0, "--epochs 0: must be a positive integer"),
        ("batch_size", -3, "--batch-size -3"),
        ("optimizer", "rmsprop", "must be one of sgd, adamw"),
        ("lr", float("nan"), "--lr nan"),
        ("lr", 0.0, "--lr 0.0: must be a positive number"),
        ("weight_decay", -1.0, "--weight-decay"),
        ("momentum", 1.0, "--momentum"),
        ("warmup_epochs", 50.0, "between 0 and --epochs (30)"),
        ("label_smoothing", 1.0, "--label-smoothing"),
        ("ema", 1.0, "EMA decay must be in (0, 1)"),
        ("val_fraction", 0.0, "--val-fraction"),
        ("seed", -1, "--seed"),
        ("resolution", 4, "--resolution 4"),
        ("checkpoint_minutes", -1.0, "--checkpoint-minutes"),
        ("device", "tpu", "--device 'tpu'"),
    ],
)
def test_bad_settings_fail_with_one_line_naming_the_option(field: str, value: object, message: str) -> None:
    with pytest.raises(TrainingError) as error:
        Recipe(**{field: value})
    assert message in str(error.value) and "\n" not in str(error.value)


def test_identity_leaves_out_the_operational_settings() -> None:
    assert Recipe(checkpoint_minutes=1, threads=2).identity() == Recipe().identity()
    assert Recipe(seed=1).identity() != Recipe().identity()


def test_no_weight_decay_on_batchnorm_and_biases() -> None:
    module = nn.Sequential(nn.Conv2d(3, 4, 3, bias=True), nn.BatchNorm2d(4), nn.Flatten(), nn.LazyLinear(2))
    module(torch.zeros(1, 3, 5, 5))
    decay, no_decay = parameter_groups(module, 0.01)
    assert decay["weight_decay"] == 0.01 and no_decay["weight_decay"] == 0.0
    assert {p.ndim for p in decay["params"]} == {2, 4}
    assert len(no_decay["params"]) == 4  # conv bias, BN weight and bias, linear bias
    optimizer = build_optimizer(module, Recipe())
    assert isinstance(optimizer, torch.optim.SGD) and optimizer.defaults["nesterov"] is True
    assert isinstance(build_optimizer(module, Recipe(optimizer="adamw")), torch.optim.AdamW)


def test_warmup_then_cosine_to_zero() -> None:
    factor = lr_factor(total_steps=100, warmup_steps=10)
    assert factor(0) == pytest.approx(0.1) and factor(9) == pytest.approx(1.0)
    assert factor(10) == pytest.approx(1.0) and factor(55) == pytest.approx(0.5)
    assert factor(100) == pytest.approx(0.0, abs=1e-12)
    assert all(factor(s) >= factor(s + 1) for s in range(10, 100))
    assert lr_factor(total_steps=10, warmup_steps=0)(0) == 1.0 and not math.isnan(lr_factor(total_steps=1, warmup_steps=1)(0))
