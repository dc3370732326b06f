"""Property tests over every shipped space: sampled architectures build, run, count and round-trip."""

from __future__ import annotations

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nas.arch import ArchSpec
from nas.builder import build_model
from nas.counting import count
from nas.latency.signature import arch_keys, head_key, op_key
from nas.space import get_space, space_names

SPACES = [name for name in space_names()]


def _searched_channels(arch: ArchSpec) -> list[int]:
    return [arch.stem.out, *(block.out for block in arch.blocks), *([arch.head.out] if arch.head else [])]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(SPACES), seed=st.integers(0, 2**31 - 1))
def test_sampled_architecture_builds_runs_and_counts(name: str, seed: int) -> None:
    space = get_space(name)
    arch = space.random(seed)
    model = build_model(arch).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, arch.resolution, arch.resolution))
    assert out.shape == (1, arch.num_classes)
    assert all(channels % 8 == 0 for channels in _searched_channels(arch))
    assert count(arch).params == sum(p.numel() for p in model.parameters())
    assert ArchSpec.from_yaml(arch.to_yaml()) == arch
    assert ArchSpec.from_string(arch.to_string(), name=arch.name) == arch


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(SPACES), seed=st.integers(0, 2**31 - 1), width=st.sampled_from([0.35, 0.5, 0.75, 1.0, 1.4]))
def test_every_layer_of_a_sample_is_an_enumerated_op(name: str, seed: int, width: float) -> None:
    space = get_space(name, width=width)
    ops, heads = space.ops()
    keys = {op_key(op.spec, in_channels=op.in_channels, in_size=op.in_size, precision="fp32") for op in ops}
    keys |= {
        head_key(arch_head, in_channels=h.in_channels, in_size=h.in_size, num_classes=h.num_classes, precision="fp32")
        for h in heads
        for arch_head in [space.arch(space.random_params(0)).head]
    }
    arch = space.random(seed)
    assert all(channels % 8 == 0 for channels in _searched_channels(arch))
    missing = [key for _, key in arch_keys(arch, "fp32") if key not in keys]
    assert not missing


def test_define_by_run_names_are_flat_and_stable() -> None:
    import optuna

    space = get_space("mobiledet")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    arch = space.sample(trial)
    assert set(trial.params) == set(space.parameters)
    assert {"s2.b1.type", "s2.b1.kernel", "s2.b1.expansion", "s2.width"} <= set(trial.params)
    assert space.arch(trial.params) == arch


def test_sampling_is_deterministic_per_seed() -> None:
    space = get_space("proxylessnas")
    assert space.random(7) == space.random(7)
    assert len({space.random(seed) for seed in range(20)}) > 15


def test_fixed_space_is_one_architecture() -> None:
    space = get_space("mobilenet_v2", width=0.5, resolution=160)
    assert space.is_fixed() and space.size == 1
    arch = space.arch()
    assert arch.resolution == 160 and arch.stem.out == 16 and arch.head.out == 1280
    assert get_space("mobilenet_v2", width=1.4).arch().head.out == 1792  # widened for α > 1


def test_op_counts() -> None:
    ops, heads = get_space("nas_bench_macro").ops()
    # per stage: first layer 3 ops (skip, k3e3, k5e6) and the other layers 3 more at the new shape
    assert len(ops) == 1 + 3 * 6 and len(heads) == 1


def test_cifar_variants_keep_32_px_to_the_second_stage_and_name_their_reference() -> None:
    reference = get_space("mobilenet_v2_cifar", width=0.5).arch()
    assert (reference.resolution, reference.num_classes, reference.final_size) == (32, 10, 4)
    sizes = [position.out_size for position in reference.positions()]
    assert sizes[:4] == [32, 32, 32, 32]  # stem, the 16-stage and both 24-layers at stride 1
    space = get_space("mobiledet_cifar")
    assert space.definition.reference == "mobilenet_v2_cifar"
    assert get_space("mobiledet").definition.reference == "mobilenet_v2"  # the default
    assert {a.final_size for a in (space.random(seed) for seed in range(5))} == {4}


def test_cifar_spaces_are_priced_by_the_shipped_cpu_table() -> None:
    from nas.devices import get_device

    table = get_device("cpu").load_table()
    space = get_space("mobiledet_cifar")
    assert not any(table.missing(space.random(seed)) for seed in range(20))
    assert not table.missing(get_space("mobilenet_v2_cifar", width=0.35).arch())
