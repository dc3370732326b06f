"""A loaded search space: flat named choices → ArchSpec, sampling, and op enumeration.

Every parameter is always drawn (a static space), even where the chosen block
type ignores it (``expansion`` of a Tucker layer): NSGA-II and TPE then see a
fixed set of categorical parameters with stable flat names such as
``s2.b1.type``, and studies stay comparable across versions.
"""

from __future__ import annotations

import itertools
import math
import random as _random
from dataclasses import dataclass, replace
from typing import Any, Iterator, Mapping

from nas.arch import ArchSpec, BlockSpec, HeadSpec, block_from_dict
from nas.blocks import get_block
from nas.channels import make_divisible, scale_channels
from nas.errors import SpecError
from nas.space.schema import SpaceDefinition, Stage, relevant_keys


@dataclass(frozen=True)
class Op:
    """One distinct block at one input shape: what a latency table prices."""

    spec: BlockSpec
    in_channels: int
    in_size: int


@dataclass(frozen=True)
class HeadOp:
    in_channels: int
    in_size: int
    out: int | None
    act: str | None
    num_classes: int


class SearchSpace:
    """A space definition with a width multiplier α and an input resolution applied."""

    def __init__(
        self, *, definition: SpaceDefinition, width: float | None = None, resolution: int | None = None, num_classes: int | None = None
    ) -> None:
        self.definition = definition
        self.name = definition.name
        self.width = definition.width if width is None else float(width)
        self.resolution = definition.resolution if resolution is None else int(resolution)
        self.num_classes = definition.num_classes if num_classes is None else int(num_classes)
        if self.width <= 0:
            raise SpecError(f"width multiplier must be positive, got {self.width}", key="--width")
        if self.resolution < 8:
            raise SpecError(f"resolution must be >= 8, got {self.resolution}", key="--resolution")
        self._parameters = self._build_parameters()

    def __repr__(self) -> str:
        return f"SearchSpace({self.name!r}, width={self.width}, resolution={self.resolution}, {len(self._parameters)} parameters)"

    def scaled(self, *, width: float | None = None, resolution: int | None = None, num_classes: int | None = None) -> "SearchSpace":
        return SearchSpace(
            definition=self.definition,
            width=self.width if width is None else width,
            resolution=self.resolution if resolution is None else resolution,
            num_classes=self.num_classes if num_classes is None else num_classes,
        )

    # -- parameters -------------------------------------------------------------------
    def _build_parameters(self) -> dict[str, tuple[Any, ...]]:
        params: dict[str, tuple[Any, ...]] = {}
        if len(self.definition.stem_outs) > 1:
            params["stem.out"] = self.definition.stem_outs
        for s, stage in enumerate(self.definition.stages, start=1):
            for key, values in (("out", stage.out), ("width", stage.width), ("depth", stage.layers)):
                if len(values) > 1:
                    params[f"s{s}.{key}"] = values
            for b in range(max(stage.layers)):
                for key, values in stage.layer_choices(b).items():
                    if len(values) > 1:
                        params[f"s{s}.b{b + 1}.{key}"] = values
        head = self.definition.head
        if head is not None and len(head.outs) > 1:
            params["head.out"] = head.outs
        return params

    @property
    def parameters(self) -> dict[str, tuple[Any, ...]]:
        """Flat parameter name → its choices (only real choices; fixed values are not listed)."""
        return dict(self._parameters)

    @property
    def size(self) -> int:
        """Number of parameter combinations (an upper bound on distinct architectures)."""
        return math.prod(len(values) for values in self._parameters.values())

    def is_fixed(self) -> bool:
        return not self._parameters

    def stage_channels(self, stage: Stage, out: int, width: float) -> int:
        return make_divisible(out * self.width * width)

    @property
    def stem(self) -> BlockSpec:
        """The stem (the first width choice where the stem's width is searched)."""
        return self.stem_choices()[0]

    def stem_choices(self) -> list[BlockSpec]:
        """Every stem an architecture of the space can have (one per ``stem.out`` choice)."""
        return [replace(self.definition.stem, out=scale_channels(out, self.width)) for out in self.definition.stem_outs]

    def head_choices(self) -> list[HeadSpec]:
        """Every head an architecture of the space can have (none when the space has no head conv)."""
        head = self.definition.head
        return [] if head is None else [head.resolve(self.width, out=out) for out in head.outs]

    # -- architectures ----------------------------------------------------------------
    def arch(self, params: Mapping[str, Any] | None = None, *, name: str | None = None) -> ArchSpec:
        """The architecture for one assignment of every parameter."""
        params = dict(params or {})
        missing = [key for key in self._parameters if key not in params]
        if missing:
            raise SpecError(f"missing parameter(s) {', '.join(missing[:5])}", source=self.name)
        for key, value in params.items():
            if key in self._parameters and value not in self._parameters[key]:
                raise SpecError(f"value {value!r} not among the choices {list(self._parameters[key])}", source=self.name, key=key)

        def pick(key: str, values: tuple[Any, ...]) -> Any:
            return params[key] if len(values) > 1 else values[0]

        stem_out = pick("stem.out", self.definition.stem_outs)
        stem = replace(self.definition.stem, out=scale_channels(stem_out, self.width))
        blocks: list[BlockSpec] = []
        for s, stage in enumerate(self.definition.stages, start=1):
            out = self.stage_channels(stage, pick(f"s{s}.out", stage.out), pick(f"s{s}.width", stage.width))
            for b in range(pick(f"s{s}.depth", stage.layers)):
                values = {key: pick(f"s{s}.b{b + 1}.{key}", choices) for key, choices in stage.layer_choices(b).items()}
                values = stage.expand(values)
                blocks.append(layer_spec(values, out=out, stride=stage.stride if b == 0 else 1, key=f"s{s}.b{b + 1}"))
        template = self.definition.head
        head = template.resolve(self.width, out=pick("head.out", template.outs)) if template is not None else None
        return ArchSpec(
            name=name or self.name,
            resolution=self.resolution,
            num_classes=self.num_classes,
            stem=stem,
            blocks=tuple(blocks),
            head=head,
        )

    def sample(self, trial: Any) -> ArchSpec:
        """Define-by-run: one ``suggest_categorical`` per flat parameter."""
        params = {key: trial.suggest_categorical(key, list(values)) for key, values in self._parameters.items()}
        return self.arch(params)

    def random_params(self, seed: int | _random.Random) -> dict[str, Any]:
        rng = seed if isinstance(seed, _random.Random) else _random.Random(seed)
        return {key: rng.choice(values) for key, values in self._parameters.items()}

    def random(self, seed: int | _random.Random) -> ArchSpec:
        return self.arch(self.random_params(seed))

    # -- op enumeration -----------------------------------------------------------------
    def ops(self) -> tuple[list[Op], list[HeadOp]]:
        """Every distinct (block, input shape) any architecture of the space can contain, plus heads."""
        ops: dict[Op, None] = {}
        stems = self.stem_choices()
        for stem in stems:
            ops[Op(stem, 3, self.resolution)] = None
        channels_in = {stem.out for stem in stems}
        size = (self.resolution - 1) // stems[0].stride + 1
        for s, stage in enumerate(self.definition.stages, start=1):
            outs = sorted({self.stage_channels(stage, o, w) for o in stage.out for w in stage.width})
            for b in range(max(stage.layers)):
                stride = stage.stride if b == 0 else 1
                pairs = itertools.product(channels_in, outs) if b == 0 else ((c, c) for c in outs)
                layer_specs = list(layer_variants(stage, stage.layer_choices(b)))
                for c_in, c_out in pairs:
                    for values in layer_specs:
                        spec = layer_spec(values, out=c_out, stride=stride, key=f"s{s}.b{b + 1}")
                        ops[Op(spec, c_in, size if b == 0 else (size - 1) // stage.stride + 1)] = None
            size = (size - 1) // stage.stride + 1
            # a stage with a depth choice may end after any of its layers, but all keep the same width
            channels_in = set(outs)
        head_specs: list[HeadSpec | None] = list(self.head_choices()) or [None]
        heads = [
            HeadOp(c, size, spec.out if spec else None, spec.act if spec else None, self.num_classes)
            for spec in head_specs
            for c in sorted(channels_in)
        ]
        return list(ops), heads


def layer_variants(stage: Stage, choices: Mapping[str, tuple[Any, ...]]) -> Iterator[dict[str, Any]]:
    """Every combination of the choices that matter for each block type (the layer's distinct blocks, before widths)."""
    if "op" in choices:
        fixed = {key: values[0] for key, values in choices.items() if key != "op"}
        for op in choices["op"]:
            yield stage.expand({**fixed, "op": op})
        return
    for type_name in choices["type"]:
        block_type = get_block(type_name)
        relevant = [key for key in choices if key != "type" and (key in block_type.keys or key in block_type.extra_keys)]
        for combo in itertools.product(*(choices[key] for key in relevant)):
            yield {"type": type_name, **dict(zip(relevant, combo))}


def layer_spec(values: Mapping[str, Any], *, out: int, stride: int, key: str) -> BlockSpec:
    """The block of one layer from its chosen values (the only place a layer's BlockSpec is made)."""
    return block_from_dict({**relevant_keys(values), "out": out, "stride": stride}, key=key)
