"""The supernet of a search space: every architecture of the space is a path through it.

Layer positions follow the space: stage ``s``, layer ``b`` (``s2.b1`` as in the
flat Optuna names), each an ``ElasticLayer`` over every block the space can put
there at every input width. A stage with a depth choice runs its first layers
(Once-for-All's elastic depth). The stem, the head conv and the classifier are
elastic too (widths sliced from the first channels).

``supernet(x, arch)`` runs one architecture; ``extract(arch)`` gives the plain
``nas.builder.Network`` with the inherited weights, computing the same function.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from nas.arch import ArchSpec, BlockSpec, HeadSpec
from nas.builder import Network, _initialise  # the standalone networks' initialisation, so both start alike
from nas.errors import NasError
from nas.space import SearchSpace
from nas.space.space import layer_spec, layer_variants
from nas.supernet.elastic import Choice, ElasticLayer


class SupernetError(NasError):
    """An architecture that is not a path of this supernet, or a supernet file that does not fit."""


@dataclass(frozen=True)
class Path:
    """One architecture resolved to the supernet's layers: (layer key, choice) per block, stem and head."""

    stem: Choice
    blocks: tuple[tuple[str, Choice], ...]
    head: Choice | None
    features: int


def layer_key(stage: int, layer: int) -> str:
    """``s2_b1``: the flat parameter prefix ``s2.b1`` (ModuleDict keys cannot hold dots)."""
    return f"s{stage}_b{layer}"


def head_block(head: HeadSpec) -> BlockSpec:
    """The head conv as a block: ``nas.builder`` builds the same 1×1 ConvBNAct."""
    return BlockSpec(type="conv", out=head.out, kernel=1, stride=1, act=head.act)


class Supernet(nn.Module):
    """Weight-sharing network over ``space``; ``set_active(arch)`` or ``forward(x, arch)`` picks the path."""

    def __init__(self, *, space: SearchSpace) -> None:
        super().__init__()
        self.space = space
        self.num_classes = space.num_classes
        stems = space.stem_choices()
        self.stem = ElasticLayer(choices=[Choice(spec, 3) for spec in stems], name="stem")
        self.layers = nn.ModuleDict()
        self._stages: list[tuple[int, tuple[int, ...]]] = []  # stage number, depth choices
        widths = sorted({spec.out for spec in stems})
        for s, stage in enumerate(space.definition.stages, start=1):
            outs = sorted({space.stage_channels(stage, o, w) for o in stage.out for w in stage.width})
            for b in range(max(stage.layers)):
                stride = stage.stride if b == 0 else 1
                variants = list(layer_variants(stage, stage.layer_choices(b)))
                pairs = [(c, o) for c in widths for o in outs] if b == 0 else [(o, o) for o in outs]
                choices = [
                    Choice(layer_spec(values, out=o, stride=stride, key=f"s{s}.b{b + 1}"), c) for c, o in pairs for values in variants
                ]
                self.layers[layer_key(s, b + 1)] = ElasticLayer(choices=choices, name=f"s{s}.b{b + 1}")
            self._stages.append((s, tuple(stage.layers)))
            widths = outs
        heads = space.head_choices()
        self.head = ElasticLayer(choices=[Choice(head_block(h), c) for h in heads for c in widths], name="head") if heads else None
        features = max(h.out for h in heads) if heads else max(widths)
        self.classifier = nn.Linear(features, self.num_classes)
        _initialise(self)
        self._active: ArchSpec | None = None
        self._paths: dict[ArchSpec, Path] = {}

    # -- paths --------------------------------------------------------------------------
    @property
    def unshared(self) -> dict[str, list[str]]:
        """Layer name → choices that keep their own weights (a block type without slicing support)."""
        return {layer.name: list(layer.unshared) for layer in self._elastic() if layer.unshared}

    def _elastic(self) -> Iterator[ElasticLayer]:
        yield self.stem
        yield from (layer for layer in self.layers.values() if isinstance(layer, ElasticLayer))
        if self.head is not None:
            yield self.head

    def path(self, arch: ArchSpec) -> Path:
        """Where each block of ``arch`` runs; a SupernetError when ``arch`` is not in the space."""
        if arch in self._paths:
            return self._paths[arch]
        where = f"architecture {arch.name!r} is not in the supernet's space {self.space.name!r}"
        if arch.num_classes != self.num_classes:
            raise SupernetError(f"{where}: {arch.num_classes} classes, the supernet has {self.num_classes}")
        stem = Choice(arch.stem, arch.in_channels)
        if stem not in self.stem.choices:
            raise SupernetError(f"{where}: stem {arch.stem.token()} is not one of its stems")
        blocks = self._assign(arch.blocks, 0, 0, arch.stem.out)
        if blocks is None:
            raise SupernetError(f"{where}: its blocks do not follow the space's stages ({arch.to_string()[:120]})")
        head = None
        if arch.head is not None:
            if self.head is None:
                raise SupernetError(f"{where}: it has a head conv, the space has none")
            head = Choice(head_block(arch.head), arch.out_channels)
            if head not in self.head.choices:
                raise SupernetError(f"{where}: head {arch.head.token()} is not one of its heads")
        elif self.head is not None:
            raise SupernetError(f"{where}: it has no head conv, the space has one")
        path = Path(stem=stem, blocks=tuple(blocks), head=head, features=arch.feature_channels)
        if len(self._paths) > 4096:
            self._paths.clear()
        self._paths[arch] = path
        return path

    def _assign(self, blocks: tuple[BlockSpec, ...], stage: int, start: int, in_channels: int) -> list[tuple[str, Choice]] | None:
        """Blocks to layers, stage by stage, trying each depth choice (deepest first)."""
        if stage == len(self._stages):
            return [] if start == len(blocks) else None
        number, depths = self._stages[stage]
        for depth in sorted(set(depths), reverse=True):
            if start + depth > len(blocks):
                continue
            assigned, channels = [], in_channels
            for b in range(depth):
                key, choice = layer_key(number, b + 1), Choice(blocks[start + b], channels)
                if choice not in self.layer(key).choices:
                    break
                assigned.append((key, choice))
                channels = choice.spec.out
            else:
                rest = self._assign(blocks, stage + 1, start + depth, channels)
                if rest is not None:
                    return assigned + rest
        return None

    def layer(self, key: str) -> ElasticLayer:
        """The elastic layer ``s2_b1`` (typed access to ``self.layers``)."""
        layer = self.layers[key]
        assert isinstance(layer, ElasticLayer)
        return layer

    # -- running ------------------------------------------------------------------------
    def set_active(self, arch: ArchSpec) -> None:
        self.path(arch)
        self._active = arch

    def forward(self, x: torch.Tensor, arch: ArchSpec | None = None) -> torch.Tensor:
        arch = arch if arch is not None else self._active
        if arch is None:
            raise SupernetError("no active architecture: call supernet(x, arch) or supernet.set_active(arch)")
        return self.forward_mean(x, [arch])

    def forward_mean(self, x: torch.Tensor, archs: Sequence[ArchSpec]) -> torch.Tensor:
        """Run ``archs`` together: where their choices at a layer differ, the layer's output is the mean of those choices'.

        The op warm-up of ``nas.supernet.sampling``: the archs differ only in block types and share depths and widths.
        """
        paths = [self.path(arch) for arch in archs]
        first = paths[0]
        if any(len(p.blocks) != len(first.blocks) or p.features != first.features for p in paths):
            raise SupernetError("forward_mean: the architectures must have the same depths and widths")
        x = _mean(self.stem, x, [p.stem for p in paths])
        for index, (key, _) in enumerate(first.blocks):
            x = _mean(self.layer(key), x, [p.blocks[index][1] for p in paths])
        if self.head is not None and first.head is not None:
            x = _mean(self.head, x, [p.head for p in paths if p.head is not None])
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return nn.functional.linear(x, self.classifier.weight[:, : first.features], self.classifier.bias)

    # -- extraction ---------------------------------------------------------------------
    def extract_state(self, arch: ArchSpec) -> dict[str, torch.Tensor]:
        """The state dict of ``nas.build_model(arch)`` with the inherited weights (copies)."""
        path = self.path(arch)
        state: dict[str, torch.Tensor] = {}
        parts: list[tuple[str, ElasticLayer, Choice]] = [("stem", self.stem, path.stem)]
        parts += [(f"blocks.{index}", self.layer(key), choice) for index, (key, choice) in enumerate(path.blocks)]
        if self.head is not None and path.head is not None:
            parts.append(("head", self.head, path.head))
        for prefix, layer, choice in parts:
            for name, tensor in layer.tensors(choice).items():
                state[f"{prefix}.{name}"] = tensor.detach().clone()
        state["classifier.weight"] = self.classifier.weight[:, : path.features].detach().clone()
        state["classifier.bias"] = self.classifier.bias.detach().clone()
        return state

    def extract(self, arch: ArchSpec) -> Network:
        """A standalone ``Network`` for ``arch`` holding the inherited weights (built without a random init)."""
        state = self.extract_state(arch)
        with torch.device("meta"):
            network = Network(arch=arch, initialise=False)
        network.load_state_dict(state, strict=True, assign=True)
        return network.train(self.training)


def _mean(layer: ElasticLayer, x: torch.Tensor, choices: Sequence[Choice]) -> torch.Tensor:
    """The layer's output for each distinct choice, averaged (one choice: just its output)."""
    distinct = list(dict.fromkeys(choices))
    if len({choice.spec.out for choice in distinct}) != 1:
        raise SupernetError(f"forward_mean: {layer.name} has choices of different widths")
    outputs = [layer(x, choice) for choice in distinct]
    return outputs[0] if len(outputs) == 1 else torch.stack(outputs).mean(0)
