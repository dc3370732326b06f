"""Search-space data: stages with fixed values and choices, read from YAML with precise errors.

A stage's ``block`` mapping gives each layer's keys; a list value is a choice
searched per layer, a scalar is fixed. ``first`` overrides keys for the stage's
first layer (e.g. forbid ``skip`` where the shape changes). ``layers``, ``out``
and ``width`` are fixed numbers or lists of choices for the whole stage. The
stem's and the head's ``out`` may be lists too (width choices, as channel-search
benchmarks and Once-for-All have): searched as ``stem.out`` and ``head.out``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from nas.arch import ACTIVATIONS, BlockSpec, HeadSpec, _load_yaml, block_from_dict
from nas.blocks import get_block
from nas.errors import SpecError

HEAD_SCALING = ("none", "grow", "full")  # MobileNetV2 keeps 1280 for α < 1 and widens it for α > 1: "grow"
_SPACE_KEYS = ("name", "description", "resolution", "num_classes", "width", "stem", "head", "defaults", "stages", "targets", "reference")
_STAGE_KEYS = ("name", "out", "stride", "layers", "width", "block", "first", "ops")


@dataclass(frozen=True)
class Stage:
    out: tuple[int, ...]
    stride: int
    layers: tuple[int, ...]
    width: tuple[float, ...]
    block: tuple[tuple[str, tuple[Any, ...]], ...]  # key → choices (a fixed value is one choice)
    first: tuple[tuple[str, tuple[Any, ...]], ...]
    ops: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()  # named whole-layer alternatives

    def layer_choices(self, layer: int) -> dict[str, tuple[Any, ...]]:
        choices = dict(self.block)
        if self.ops:
            choices["op"] = tuple(name for name, _ in self.ops)
        if layer == 0:
            choices.update(self.first)
        return choices

    def expand(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Replace a chosen ``op`` name by the block keys it stands for."""
        if "op" not in values:
            return dict(values)
        rest = {key: value for key, value in values.items() if key != "op"}
        return {**rest, **dict(dict(self.ops)[values["op"]])}


@dataclass(frozen=True)
class HeadTemplate:
    out: int  # the first of ``choices``: the head of a space without a head width choice
    act: str
    scaling: str
    choices: tuple[int, ...] = ()  # every searched head width (empty: ``out`` only)

    @property
    def outs(self) -> tuple[int, ...]:
        return self.choices or (self.out,)

    def resolve(self, width: float, *, out: int | None = None) -> HeadSpec:
        """The head for the width multiplier ``width``; ``out``: one of ``outs`` (default the first)."""
        from nas.channels import make_divisible

        base = self.out if out is None else out
        factor = {"none": 1.0, "grow": max(1.0, width), "full": width}[self.scaling]
        return HeadSpec(out=make_divisible(base * factor) if factor != 1.0 else base, act=self.act)


@dataclass(frozen=True)
class SpaceDefinition:
    name: str
    description: str
    resolution: int
    num_classes: int
    width: float
    stem: BlockSpec
    head: HeadTemplate | None
    stages: tuple[Stage, ...]
    targets: tuple[str, ...]
    source: str
    reference: str = "mobilenet_v2"  # the fixed, hand-designed space a search in this space is compared with
    stem_out: tuple[int, ...] = ()  # every searched stem width (empty: ``stem.out`` only)

    @property
    def stem_outs(self) -> tuple[int, ...]:
        return self.stem_out or (self.stem.out,)


def load_space_file(path: str | Path) -> SpaceDefinition:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SpecError(f"cannot read file: {error.strerror}", source=str(path)) from None
    except UnicodeDecodeError:
        raise SpecError("not a YAML text file (binary, not UTF-8)", source=str(path)) from None
    return parse_space(_load_yaml(text, str(path)), source=str(path))


def parse_space(data: Any, *, source: str) -> SpaceDefinition:
    try:
        return _parse(data, source)
    except SpecError as error:
        raise error.located(source=source) from None


def _choices(value: Any, key: str, kind: type | tuple[type, ...], *, minimum: float | None = None) -> tuple[Any, ...]:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise SpecError("an empty choice list", key=key)
    for item in values:
        if isinstance(item, bool) or not isinstance(item, kind):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise SpecError(f"must be {names} or a list of them, got {item!r}", key=key)
        if minimum is not None and isinstance(item, (int, float)) and item < minimum:
            raise SpecError(f"must be >= {minimum}, got {item!r}", key=key)
    return tuple(values)


def _check_keys(data: Mapping[str, Any], allowed: tuple[str, ...], key: str | None) -> None:
    for name in data:
        if name not in allowed:
            where = f"{key}.{name}" if key else str(name)
            raise SpecError(f"unknown key (allowed: {', '.join(allowed)})", key=where)


def _int(data: Mapping[str, Any], key: str, default: int | None = None, *, minimum: int = 1) -> int:
    if key not in data:
        if default is None:
            raise SpecError("missing required key", key=key)
        return default
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SpecError(f"must be an integer >= {minimum}, got {value!r}", key=key)
    return value


def _block_choices(data: Any, key: str, defaults: Mapping[str, Any]) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    if not isinstance(data, Mapping):
        raise SpecError(f"must be a mapping of block keys to values or choice lists, got {data!r}", key=key)
    merged = {**defaults, **data}
    result = []
    for name, value in merged.items():
        values = tuple(value) if isinstance(value, list) else (value,)
        if not values:
            raise SpecError("an empty choice list", key=f"{key}.{name}")
        result.append((str(name), values))
    return tuple(result)


def relevant_keys(values: Mapping[str, Any]) -> dict[str, Any]:
    """Drop keys that the chosen block type does not take (a default ``act`` on a skip)."""
    try:
        block_type = get_block(values.get("type"))
    except SpecError as error:
        raise error.located(key_prefix="type") from None
    accepted = {"type", "out", "stride", *block_type.keys, *block_type.extra_keys}
    return {key: value for key, value in values.items() if key in accepted}


def _check_layer_choices(stage: Stage, key: str, stride: int, defaults: Mapping[str, Any]) -> None:
    """Every choice value must form a valid block with each block type that uses it."""
    if stage.ops:
        for layer in (0, 1):
            choices = stage.layer_choices(layer)
            for op in choices["op"]:
                fixed = stage.expand({**{k: v[0] for k, v in choices.items() if k != "op"}, "op": op})
                fixed.update(out=stage.out[0], stride=stride if layer == 0 else 1)
                block_from_dict(relevant_keys(fixed), key=f"{key}.ops.{op}")
        return
    used = {"type", *defaults}
    for layer in (1, 0):
        choices = stage.layer_choices(layer)
        if "type" not in choices:
            raise SpecError("missing required key", key=f"{key}.block.type")
        for type_name in choices["type"]:
            try:
                block_type = get_block(type_name)
            except SpecError as error:
                raise error.located(key_prefix=f"{key}.block.type") from None
            relevant = [name for name in choices if name in block_type.keys or name in block_type.extra_keys]
            used.update(relevant)
            base = {name: choices[name][0] for name in relevant}
            base.update(type=type_name, out=stage.out[0], stride=stride if layer == 0 else 1)
            block_from_dict(base, key=f"{key}.block")
            for name in relevant:
                for value in choices[name][1:]:
                    block_from_dict({**base, name: value}, key=f"{key}.block")
    unused = [name for name in {**dict(stage.block), **dict(stage.first)} if name not in used]
    if unused:
        raise SpecError(
            f"no block type of this stage uses this key (types: {', '.join(map(str, dict(stage.block)['type']))})",
            key=f"{key}.block.{unused[0]}",
        )


def _parse(data: Any, source: str) -> SpaceDefinition:
    if not isinstance(data, Mapping):
        raise SpecError("a search space must be a mapping with name, resolution, stem, stages")
    _check_keys(data, _SPACE_KEYS, None)
    from nas.limits import MAX_CLASSES, MAX_RESOLUTION, check_int, check_name

    name = check_name(data.get("name"))
    resolution = check_int(_int(data, "resolution", minimum=8), key="resolution", maximum=MAX_RESOLUTION)
    num_classes = check_int(_int(data, "num_classes", 1000), key="num_classes", maximum=MAX_CLASSES)
    width = data.get("width", 1.0)
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not 0 < width <= 64:
        raise SpecError(f"must be a positive number, got {width!r}", key="width")
    defaults = data.get("defaults", {}) or {}
    if not isinstance(defaults, Mapping):
        raise SpecError("must be a mapping of block keys", key="defaults")
    if "act" in defaults and defaults["act"] not in ACTIVATIONS:
        raise SpecError(f"unknown activation {defaults['act']!r} (allowed: {', '.join(ACTIVATIONS)})", key="defaults.act")
    if "stem" not in data:
        raise SpecError("missing required key", key="stem")
    stem_data = data["stem"]
    stem_out: tuple[int, ...] = ()
    if isinstance(stem_data, Mapping):
        stem_data = {**{k: v for k, v in defaults.items() if k == "act"}, **stem_data}
        if isinstance(stem_data.get("out"), list):
            stem_out = _choices(stem_data["out"], "stem.out", int, minimum=1)
            for value in stem_out[1:]:
                block_from_dict({**stem_data, "out": value}, key="stem")
            stem_data = {**stem_data, "out": stem_out[0]}
            stem_out = stem_out if len(stem_out) > 1 else ()
    stem = block_from_dict(stem_data, key="stem")
    head = _parse_head(data.get("head"), defaults)
    stages_data = data.get("stages")
    if not isinstance(stages_data, list) or not stages_data:
        raise SpecError("must be a non-empty list of stages", key="stages")
    stages = tuple(_parse_stage(stage, f"stages[{index}]", defaults) for index, stage in enumerate(stages_data))
    _check_space_limits(stages)
    targets = data.get("targets", [])
    if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
        raise SpecError("must be a list of device names", key="targets")
    description = data.get("description", "")
    reference = data.get("reference", "mobilenet_v2")
    if not isinstance(reference, str) or not reference:
        raise SpecError(f"must be the name or YAML path of a fixed space, got {reference!r}", key="reference")
    return SpaceDefinition(
        name, str(description), resolution, num_classes, float(width), stem, head, stages, tuple(targets), source, reference, stem_out
    )


def _check_space_limits(stages: tuple[Stage, ...]) -> None:
    """The largest architecture a space can draw must stay within the arch limits (``nas.limits``)."""
    from nas.limits import MAX_BLOCKS, MAX_CHANNELS

    layers = sum(max(stage.layers) for stage in stages)
    if layers > MAX_BLOCKS:
        raise SpecError(f"the deepest choice has {layers} layers; at most {MAX_BLOCKS}", key="stages")
    for index, stage in enumerate(stages):
        if max(stage.out) > MAX_CHANNELS:
            raise SpecError(f"must be at most {MAX_CHANNELS}, got {max(stage.out)}", key=f"stages[{index}].out")


def _parse_head(data: Any, defaults: Mapping[str, Any]) -> HeadTemplate | None:
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise SpecError("must be a mapping {out, act, scaling} or null", key="head")
    _check_keys(data, ("out", "act", "scaling"), "head")
    choices: tuple[int, ...] = ()
    if isinstance(data.get("out"), list):
        choices = _choices(data["out"], "head.out", int, minimum=1)
        data = {**data, "out": choices[0]}
        choices = choices if len(choices) > 1 else ()
    out = _int(data, "out")
    act = data.get("act", defaults.get("act", "relu"))
    if act not in ACTIVATIONS:
        raise SpecError(f"unknown activation {act!r} (allowed: {', '.join(ACTIVATIONS)})", key="head.act")
    scaling = data.get("scaling", "full")
    if scaling not in HEAD_SCALING:
        raise SpecError(f"must be one of {', '.join(HEAD_SCALING)}, got {scaling!r}", key="head.scaling")
    from nas.limits import MAX_CHANNELS

    if max((out, *choices)) > MAX_CHANNELS:
        raise SpecError(f"must be at most {MAX_CHANNELS}, got {max((out, *choices))}", key="head.out")
    return HeadTemplate(out, act, scaling, choices)


def _parse_ops(data: Any, key: str, defaults: Mapping[str, Any]) -> tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]:
    """``ops: {name: {type: ibn, kernel: 3, expansion: 3}, ...}``: coupled choices searched as one parameter."""
    if data is None:
        return ()
    if not isinstance(data, Mapping) or not data:
        raise SpecError("must be a non-empty mapping of op name to block keys", key=key)
    ops = []
    for name, block in data.items():
        if not isinstance(block, Mapping) or "type" not in block:
            raise SpecError("must be a mapping with at least a type", key=f"{key}.{name}")
        ops.append((str(name), tuple(block.items())))
    return tuple(ops)


def _parse_stage(data: Any, key: str, defaults: Mapping[str, Any]) -> Stage:
    if not isinstance(data, Mapping):
        raise SpecError("must be a mapping with out, stride, layers, block", key=key)
    _check_keys(data, _STAGE_KEYS, key)
    for required in ("out",):
        if required not in data:
            raise SpecError("missing required key", key=f"{key}.{required}")
    out = _choices(data["out"], f"{key}.out", int, minimum=1)
    stride = data.get("stride", 1)
    if stride not in (1, 2) or isinstance(stride, bool):
        raise SpecError(f"stride must be 1 or 2, got {stride!r}", key=f"{key}.stride")
    layers = _choices(data.get("layers", 1), f"{key}.layers", int, minimum=1)
    width = tuple(float(w) for w in _choices(data.get("width", 1.0), f"{key}.width", (int, float), minimum=0.01))
    if "block" not in data and "ops" not in data:
        raise SpecError("missing required key (a stage needs block or ops)", key=f"{key}.block")
    block = _block_choices(data.get("block", {}), f"{key}.block", defaults)
    first = _block_choices(data.get("first", {}), f"{key}.first", {})
    ops = _parse_ops(data.get("ops"), f"{key}.ops", defaults)
    if ops and any(len(values) > 1 for _, values in block):
        raise SpecError("a stage with ops takes only fixed values in block", key=f"{key}.block")
    stage = Stage(out, stride, layers, width, block, first, ops)
    _check_layer_choices(stage, key, stride, defaults)
    return stage
