"""Reference networks for calibrating analytic device models, as plain lists of runtime ops.

Published latencies exist for torchvision / TF-slim classics (ResNet, SqueezeNet,
GoogLeNet, VGG, DenseNet, ShuffleNetV2, RegNetX) that are outside the block family,
so they are written here as layer lists following the reference code (torchvision
layer configs). MobileNetV1/V2 come from the shipped spaces through the same
``block_prims`` path the latency tables use, so the calibration tests that path too.
"""

from __future__ import annotations

from collections.abc import Callable

from nas.latency.backends.analytic import Prim, block_prims, head_prims


class Net:
    """Tracks (channels, size) while appending ops; ``fork`` starts a branch on the same op list."""

    def __init__(self, *, resolution: int, channels: int = 3, prims: list[Prim] | None = None) -> None:
        self.c, self.s = channels, resolution
        self.prims: list[Prim] = [] if prims is None else prims

    def fork(self) -> Net:
        return Net(resolution=self.s, channels=self.c, prims=self.prims)

    def conv(self, out: int, k: int = 1, s: int = 1, g: int = 1, *, valid: bool = False) -> Net:
        self.prims.append(Prim("conv", self.c, out, self.s, k, s, g))
        self.c, self.s = out, ((self.s - k) // s + 1 if valid else (self.s - 1) // s + 1)
        return self

    def dw(self, k: int = 3, s: int = 1) -> Net:
        return self.conv(self.c, k, s, self.c)

    def pool(self, k: int = 3, s: int = 2, *, ceil: bool = False) -> Net:
        self.prims.append(Prim("pool", self.c, self.c, self.s, k, s))
        self.s = -(-(self.s - k) // s) + 1 if ceil else (self.s - 1) // s + 1
        return self

    def add(self, other: Net) -> Net:
        self.c, self.s = other.c, other.s
        self.prims.append(Prim("eltwise", self.c, self.c, self.s, inputs=2))
        return self

    def concat(self, branches: list[Net]) -> Net:
        self.c, self.s = sum(b.c for b in branches), branches[0].s
        self.prims.append(Prim("concat", self.c, self.c, self.s))
        return self

    def shuffle(self) -> Net:
        self.prims.append(Prim("eltwise", self.c, self.c, self.s))
        return self

    def classifier(self, *widths: int) -> list[Prim]:
        self.prims.append(Prim("pool", self.c, self.c, self.s, pooled=True))
        for width in widths:
            self.prims.append(Prim("conv", self.c, width, 1, pooled=True))
            self.c = width
        return self.prims


def resnet(layers: tuple[int, ...], *, bottleneck: bool, groups: int = 1, width_per_group: int = 64, resolution: int = 224) -> list[Prim]:
    """torchvision ResNet / ResNeXt / Wide ResNet (stride on the 3×3, projection shortcut where needed)."""
    net = Net(resolution=resolution).conv(64, 7, 2).pool(3, 2)
    for i, (planes, count) in enumerate(zip((64, 128, 256, 512), layers)):
        for b in range(count):
            stride = 2 if i > 0 and b == 0 else 1
            body = net.fork()
            if bottleneck:
                width = int(planes * width_per_group / 64) * groups
                body.conv(width).conv(width, 3, stride, groups).conv(planes * 4)
            else:
                body.conv(planes, 3, stride).conv(planes, 3)
            if stride != 1 or net.c != body.c:
                net.conv(body.c, 1, stride)
            net.add(body)
    return net.classifier(1000)


def squeezenet1_1(resolution: int = 224) -> list[Prim]:
    net = Net(resolution=resolution).conv(64, 3, 2, valid=True).pool(3, 2, ceil=True)

    def fire(squeeze: int, expand: int) -> None:
        net.conv(squeeze)
        a, b = net.fork().conv(expand), net.fork().conv(expand, 3)
        net.concat([a, b])

    for stage, (squeeze, expand) in enumerate(((16, 64), (32, 128), (48, 192), (64, 256))):
        fire(squeeze, expand)
        fire(squeeze, expand)
        if stage < 2:
            net.pool(3, 2, ceil=True)
    net.conv(1000)
    return net.classifier()


def googlenet(resolution: int = 224) -> list[Prim]:
    """torchvision GoogLeNet = TF-slim Inception v1 (both use 3×3 in the '5×5' branch), no aux heads."""
    net = Net(resolution=resolution).conv(64, 7, 2).pool(3, 2).conv(64).conv(192, 3).pool(3, 2)

    def inception(c1: int, r3: int, c3: int, r5: int, c5: int, proj: int) -> None:
        branches = [net.fork().conv(c1), net.fork().conv(r3).conv(c3, 3), net.fork().conv(r5).conv(c5, 3), net.fork().pool(3, 1).conv(proj)]
        net.concat(branches)

    inception(64, 96, 128, 16, 32, 32)
    inception(128, 128, 192, 32, 96, 64)
    net.pool(3, 2)
    for config in (
        (192, 96, 208, 16, 48, 64),
        (160, 112, 224, 24, 64, 64),
        (128, 128, 256, 24, 64, 64),
        (112, 144, 288, 32, 64, 64),
        (256, 160, 320, 32, 128, 128),
    ):
        inception(*config)
    net.pool(3, 2)
    inception(256, 160, 320, 32, 128, 128)
    inception(384, 192, 384, 48, 128, 128)
    return net.classifier(1000)


def vgg(counts: tuple[int, ...], resolution: int = 224) -> list[Prim]:
    net = Net(resolution=resolution)
    for width, count in zip((64, 128, 256, 512, 512), counts):
        for _ in range(count):
            net.conv(width, 3)
        net.pool(2, 2)
    net.prims.append(Prim("conv", net.c * net.s * net.s, 4096, 1, pooled=True))  # flatten 7×7×512 → fc
    net.c = 4096
    net.prims += [Prim("conv", 4096, 4096, 1, pooled=True), Prim("conv", 4096, 1000, 1, pooled=True)]
    return net.prims


def densenet121(resolution: int = 224) -> list[Prim]:
    net = Net(resolution=resolution).conv(64, 7, 2).pool(3, 2)
    for index, layers in enumerate((6, 12, 24, 16)):
        for _ in range(layers):
            net.prims.append(Prim("eltwise", net.c, net.c, net.s))  # pre-activation BN + ReLU: cannot fold into a conv
            new = net.fork().conv(128).conv(32, 3)
            net.c, net.s = net.c + new.c, new.s
            net.prims.append(Prim("concat", net.c, net.c, net.s))
        if index < 3:
            net.prims.append(Prim("eltwise", net.c, net.c, net.s))
            net.conv(net.c // 2).pool(2, 2)
    return net.classifier(1000)


def shufflenet_v2_x0_5(resolution: int = 224) -> list[Prim]:
    net = Net(resolution=resolution).conv(24, 3, 2).pool(3, 2)
    for out, repeats in ((48, 4), (96, 8), (192, 4)):
        half = out // 2
        left = net.fork().dw(3, 2).conv(half)
        right = net.fork().conv(half).dw(3, 2).conv(half)
        net.concat([left, right]).shuffle()
        for _ in range(repeats - 1):
            branch = Net(resolution=net.s, channels=half, prims=net.prims).conv(half).dw().conv(half)
            net.concat([branch, Net(resolution=net.s, channels=half)]).shuffle()
    net.conv(1024)
    return net.classifier(1000)


def regnet_x_3_2gf(resolution: int = 224) -> list[Prim]:
    net = Net(resolution=resolution).conv(32, 3, 2)
    for width, depth in ((96, 2), (192, 6), (432, 15), (1008, 2)):
        for b in range(depth):
            stride = 2 if b == 0 else 1
            body = net.fork().conv(width).conv(width, 3, stride, width // 48).conv(width)
            if stride != 1 or net.c != width:
                net.conv(width, 1, stride)
            net.add(body)
    return net.classifier(1000)


def from_space(space: str, *, width: float = 1.0, resolution: int = 224) -> list[Prim]:
    """A fixed shipped space (mobilenet_v1, mobilenet_v2) priced through the table path."""
    from nas.space import get_space

    arch = get_space(space, width=width, resolution=resolution).arch({})
    prims = [p for pos in arch.positions() for p in block_prims(pos.spec, in_channels=pos.in_channels, in_size=pos.in_size)]
    head = arch.head
    return prims + head_prims(
        in_channels=arch.out_channels,
        in_size=arch.final_size,
        out=head.out if head else None,
        act=head.act if head else None,
        num_classes=arch.num_classes,
    )


def _mbconv_net(
    stem: tuple[int, str], rows: list[tuple[int, int, int, int, int, float, str]], head: list[tuple[int, str]], resolution: int
) -> list[Prim]:
    """MobileNetV3 / EfficientNet / MnasNet style: a stem conv, inverted residual rows, a head of 1×1 convs / linears.

    Each row is ``(repeats, kernel, stride, hidden or -expansion, out, se, act)``; blocks are priced by
    ``block_prims``, the path the search's tables use, so squeeze-excite and non-fused activations
    (h-swish, swish) cost what they cost in a searched network.
    """
    from nas.block_spec import BlockSpec

    out, act = stem
    prims = [Prim("conv", 3, out, resolution, 3, 2)] + ([] if act in ("relu", "relu6") else [Prim("eltwise", out, out, resolution // 2)])
    channels, size = out, (resolution - 1) // 2 + 1
    for repeats, kernel, stride, hidden, width, se, block_act in rows:
        for r in range(repeats):
            spec = BlockSpec(
                type="ibn", out=width, kernel=kernel, stride=stride if r == 0 else 1, act=block_act, se=se or None,
                **({"hidden": hidden} if hidden > 0 else {"expansion": float(-hidden)}),
            )  # fmt: skip
            prims += block_prims(spec, in_channels=channels, in_size=size)
            channels, size = width, (size - 1) // spec.stride + 1
    first, first_act = head[0]
    prims += head_prims(in_channels=channels, in_size=size, out=first, act=first_act, num_classes=head[1][0] if len(head) > 1 else 1000)
    for (width, act), (nxt, _) in zip(head[1:], head[2:] + [(1000, None)]):
        if act not in ("relu", "relu6", None):
            prims.append(Prim("eltwise", width, width, 1, pooled=True))
        prims.append(Prim("conv", width, nxt, 1, pooled=True))
    return prims


def mobilenet_v3_small(resolution: int = 224) -> list[Prim]:
    """torchvision mobilenet_v3_small: SE (squeeze = expanded / 4) and h-swish in 8 of 11 blocks."""
    rows = [
        (1, 3, 2, 16, 16, 0.25, "relu"), (1, 3, 2, 72, 24, 0, "relu"), (1, 3, 1, 88, 24, 0, "relu"),
        (1, 5, 2, 96, 40, 0.25, "hswish"), (2, 5, 1, 240, 40, 0.25, "hswish"), (1, 5, 1, 120, 48, 0.25, "hswish"),
        (1, 5, 1, 144, 48, 0.25, "hswish"), (1, 5, 2, 288, 96, 0.25, "hswish"), (2, 5, 1, 576, 96, 0.25, "hswish"),
    ]  # fmt: skip
    return _mbconv_net((16, "hswish"), rows, [(576, "hswish"), (1024, "hswish")], resolution)


def efficientnet_b0(resolution: int = 224) -> list[Prim]:
    """torchvision efficientnet_b0: swish everywhere, SE in every block (squeeze = block input / 4, here of the hidden width)."""
    rows = [
        (1, 3, 1, 32, 16, 0.25, "swish"), (2, 3, 2, -6, 24, 0.25 / 6, "swish"), (2, 5, 2, -6, 40, 0.25 / 6, "swish"),
        (3, 3, 2, -6, 80, 0.25 / 6, "swish"), (3, 5, 1, -6, 112, 0.25 / 6, "swish"), (4, 5, 2, -6, 192, 0.25 / 6, "swish"),
        (1, 3, 1, -6, 320, 0.25 / 6, "swish"),
    ]  # fmt: skip
    return _mbconv_net((32, "swish"), rows, [(1280, "swish")], resolution)


def mnasnet0_5(resolution: int = 224) -> list[Prim]:
    """torchvision mnasnet0_5 (MnasNet-B1, no SE, ReLU), depths scaled by 0.5 and rounded to multiples of 8."""
    rows = [
        (1, 3, 1, 16, 8, 0, "relu"), (3, 3, 2, -3, 16, 0, "relu"), (3, 5, 2, -3, 24, 0, "relu"), (3, 5, 2, -6, 40, 0, "relu"),
        (2, 3, 1, -6, 48, 0, "relu"), (4, 5, 2, -6, 96, 0, "relu"), (1, 3, 1, -6, 160, 0, "relu"),
    ]  # fmt: skip
    return _mbconv_net((16, "relu"), rows, [(1280, "relu")], resolution)


def regnet_y_800mf(resolution: int = 224) -> list[Prim]:
    """torchvision regnet_y_800mf: RegNetX-style bottlenecks (group width 16) with SE (squeeze = block input / 4)."""
    net = Net(resolution=resolution).conv(32, 3, 2)
    for width, depth in ((64, 1), (144, 3), (320, 8), (784, 2)):
        for b in range(depth):
            stride = 2 if b == 0 else 1
            squeeze = int(round(0.25 * net.c))
            body = net.fork().conv(width).conv(width, 3, stride, width // 16)
            body.prims += [
                Prim("pool", width, width, body.s, pooled=True),
                Prim("conv", width, squeeze, 1, pooled=True),
                Prim("conv", squeeze, width, 1, pooled=True),
                Prim("eltwise", width, width, body.s, inputs=2),
            ]
            body.conv(width)
            if stride != 1 or net.c != width:
                net.conv(width, 1, stride)
            net.add(body)
    return net.classifier(1000)


#: name → builder(resolution) → ops
REFERENCE_NETWORKS: dict[str, Callable[[int], list[Prim]]] = {
    "mobilenet_v1": lambda r: from_space("mobilenet_v1", resolution=r),
    "mobilenet_v2": lambda r: from_space("mobilenet_v2", resolution=r),
    "resnet18": lambda r: resnet((2, 2, 2, 2), bottleneck=False, resolution=r),
    "resnet50": lambda r: resnet((3, 4, 6, 3), bottleneck=True, resolution=r),
    "resnet101": lambda r: resnet((3, 4, 23, 3), bottleneck=True, resolution=r),
    "resnet152": lambda r: resnet((3, 8, 36, 3), bottleneck=True, resolution=r),
    "resnext50_32x4d": lambda r: resnet((3, 4, 6, 3), bottleneck=True, groups=32, width_per_group=4, resolution=r),
    "resnext101_32x8d": lambda r: resnet((3, 4, 23, 3), bottleneck=True, groups=32, width_per_group=8, resolution=r),
    "wide_resnet50_2": lambda r: resnet((3, 4, 6, 3), bottleneck=True, width_per_group=128, resolution=r),
    "squeezenet1_1": squeezenet1_1,
    "googlenet": googlenet,
    "vgg16": lambda r: vgg((2, 2, 3, 3, 3), r),
    "vgg19": lambda r: vgg((2, 2, 4, 4, 4), r),
    "densenet121": densenet121,
    "shufflenet_v2_x0_5": shufflenet_v2_x0_5,
    "regnet_x_3_2gf": regnet_x_3_2gf,
    # squeeze-excite / h-swish / swish networks, checked by experiments.device_model_honesty (not calibration networks)
    "mobilenet_v3_small": mobilenet_v3_small,
    "efficientnet_b0": efficientnet_b0,
    "mnasnet0_5": mnasnet0_5,
    "regnet_y_800mf": regnet_y_800mf,
}


def reference_prims(name: str, resolution: int = 224) -> list[Prim]:
    return REFERENCE_NETWORKS[name](resolution)
