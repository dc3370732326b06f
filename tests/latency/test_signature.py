"""Op keys: equal ops share a key across spaces; any differing field gives a different key."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from nas.arch import BlockSpec, HeadSpec
from nas.blocks import get_block
from nas.latency.signature import arch_keys, head_key, op_key
from nas.space import get_space

ibn_specs = st.builds(
    BlockSpec,
    type=st.sampled_from(["ibn", "fused_ibn"]),
    out=st.sampled_from([16, 24, 40]),
    kernel=st.sampled_from([3, 5]),
    stride=st.sampled_from([1, 2]),
    expansion=st.sampled_from([3.0, 4.0, 6.0, 8.0]),
    act=st.sampled_from(["relu", "relu6", "hswish"]),
    se=st.sampled_from([None, 0.25]),
)
shapes = st.tuples(st.sampled_from([16, 24, 32]), st.sampled_from([7, 14, 28]), st.sampled_from(["fp32", "int8"]))


def _canonical(spec: BlockSpec, channels: int) -> BlockSpec:
    return get_block(spec.type).canonical(spec, in_channels=channels)


@settings(max_examples=300, deadline=None)
@given(a=ibn_specs, b=ibn_specs, shape_a=shapes, shape_b=shapes)
def test_keys_equal_exactly_when_canonical_ops_equal(a: BlockSpec, b: BlockSpec, shape_a: tuple, shape_b: tuple) -> None:
    key_a = op_key(a, in_channels=shape_a[0], in_size=shape_a[1], precision=shape_a[2])
    key_b = op_key(b, in_channels=shape_b[0], in_size=shape_b[1], precision=shape_b[2])
    same_op = _canonical(a, shape_a[0]) == _canonical(b, shape_b[0]) and shape_a == shape_b
    assert (key_a == key_b) == same_op


def test_every_field_changes_the_key() -> None:
    base = BlockSpec(type="ibn", out=24, kernel=3, stride=1, expansion=6.0, act="relu6", se=None)
    key = op_key(base, in_channels=16, in_size=28, precision="fp32")
    variants = [
        replace(base, type="fused_ibn"),
        replace(base, out=32),
        replace(base, kernel=5),
        replace(base, stride=2),
        replace(base, expansion=4.0),
        replace(base, act="hswish"),
        replace(base, se=0.25),
    ]
    keys = {op_key(v, in_channels=16, in_size=28, precision="fp32") for v in variants}
    keys |= {
        op_key(base, in_channels=24, in_size=28, precision="fp32"),
        op_key(base, in_channels=16, in_size=14, precision="fp32"),
        op_key(base, in_channels=16, in_size=28, precision="int8"),
    }
    assert key not in keys and len(keys) == 10


def test_derived_width_shares_the_entry() -> None:
    by_ratio = BlockSpec(type="ibn", out=24, kernel=3, expansion=6.0, act="relu6")
    by_width = BlockSpec(type="ibn", out=24, kernel=3, hidden=96, act="relu6")
    assert op_key(by_ratio, in_channels=16, in_size=56, precision="fp32") == op_key(by_width, in_channels=16, in_size=56, precision="fp32")


def test_head_keys_distinguish_every_field() -> None:
    base = dict(in_channels=320, in_size=7, num_classes=1000, precision="fp32")
    keys = {
        head_key(HeadSpec(out=1280, act="relu6"), **base),
        head_key(HeadSpec(out=1024, act="relu6"), **base),
        head_key(HeadSpec(out=1280, act="hswish"), **base),
        head_key(None, **base),
        head_key(HeadSpec(out=1280, act="relu6"), **{**base, "num_classes": 10}),
        head_key(HeadSpec(out=1280, act="relu6"), **{**base, "in_size": 4}),
    }
    assert len(keys) == 6


def test_equal_ops_in_different_spaces_share_keys() -> None:
    v2 = get_space("mobilenet_v2").arch({})
    v2_keys = {key for _, key in arch_keys(v2, "fp32")}
    ops, _ = get_space("proxylessnas").ops()
    proxyless = {op_key(op.spec, in_channels=op.in_channels, in_size=op.in_size, precision="fp32") for op in ops}
    assert v2_keys & proxyless, "MobileNetV2 and ProxylessNAS share ops (e.g. the stem) and must share entries"
