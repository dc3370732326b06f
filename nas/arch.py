"""Architectures as plain, frozen data, with a YAML form and a one-line string form.

An ``ArchSpec`` is what a search samples, a table prices, a proxy scores and an
exporter writes; ``nas.builder`` turns it into an ``nn.Module``. Specs never hold
torch objects, so they hash, compare and pickle cheaply.

Compact string: blocks joined by commas, each ``type`` then ``_``-joined fields::

    r224_n1000,conv_k3_s2_c32_relu6,ibn_k3_s1_e1_c16_relu6,...,head_c1280_relu6

``k`` kernel, ``s`` stride, ``e`` expansion, ``h`` hidden width, ``i``/``o``
Tucker in/out ratios, ``se`` squeeze-excite ratio, ``c`` output channels, then
the activation; plugin fields as ``key=value``; ``head_none`` is pool + linear.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from nas.block_spec import ACTIVATIONS, BlockSpec  # re-exported: ACTIVATIONS, BlockSpec
from nas.blocks import block_from_dict
from nas.errors import SpecError

__all__ = ["ACTIVATIONS", "ArchSpec", "BlockSpec", "HeadSpec", "LayerPosition", "block_from_dict"]


@dataclass(frozen=True)
class HeadSpec:
    """1×1 conv + BN + act before global pooling and the classifier."""

    out: int
    act: str = "relu"

    def to_dict(self) -> dict[str, Any]:
        return {"out": self.out, "act": self.act}

    def token(self) -> str:
        return f"head_c{self.out}_{self.act}"


@dataclass(frozen=True)
class LayerPosition:
    """Where a block sits: its input and output shapes inside the network."""

    index: int
    name: str
    spec: BlockSpec
    in_channels: int
    in_size: int
    out_size: int


@dataclass(frozen=True)
class ArchSpec:
    """A whole network: stem, blocks, optional head, classifier."""

    name: str
    resolution: int
    num_classes: int
    stem: BlockSpec
    blocks: tuple[BlockSpec, ...]
    head: HeadSpec | None = None
    in_channels: int = 3
    meta: tuple[tuple[str, Any], ...] = field(default=(), compare=False, hash=False)

    @property
    def out_channels(self) -> int:
        return self.blocks[-1].out if self.blocks else self.stem.out

    @property
    def feature_channels(self) -> int:
        """Channels entering the classifier."""
        return self.head.out if self.head is not None else self.out_channels

    def positions(self) -> Iterator[LayerPosition]:
        """Stem and blocks with their input shapes (square inputs, padding k//2)."""
        channels, size = self.in_channels, self.resolution
        for index, spec in enumerate((self.stem, *self.blocks)):
            out_size = (size - 1) // spec.stride + 1
            name = "stem" if index == 0 else f"blocks.{index - 1}"
            yield LayerPosition(index, name, spec, channels, size, out_size)
            channels, size = spec.out, out_size

    @property
    def final_size(self) -> int:
        size = self.resolution
        for spec in (self.stem, *self.blocks):
            size = (size - 1) // spec.stride + 1
        return size

    def with_name(self, name: str) -> ArchSpec:
        return replace(self, name=name)

    # -- YAML / dict form -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "resolution": self.resolution,
            "num_classes": self.num_classes,
        }
        if self.in_channels != 3:
            data["in_channels"] = self.in_channels
        data["stem"] = self.stem.to_dict()
        data["blocks"] = [block.to_dict() for block in self.blocks]
        data["head"] = self.head.to_dict() if self.head is not None else None
        return data

    @classmethod
    def from_dict(cls, data: Any, *, source: str | None = None) -> ArchSpec:
        try:
            return _arch_from_dict(data)
        except SpecError as error:
            raise error.located(source=source) from None

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None, width=120)

    @classmethod
    def from_yaml(cls, text: str, *, source: str | None = None) -> ArchSpec:
        return cls.from_dict(_load_yaml(text, source), source=source)

    # -- compact string ---------------------------------------------------------------
    def to_string(self) -> str:
        head = self.head.token() if self.head is not None else "head_none"
        tokens = [f"r{self.resolution}_n{self.num_classes}", self.stem.token()]
        tokens += [block.token() for block in self.blocks]
        return ",".join([*tokens, head])

    @classmethod
    def from_string(cls, text: str, *, name: str = "custom") -> ArchSpec:
        tokens = [token.strip() for token in text.strip().split(",") if token.strip()]
        if len(tokens) < 3 or not tokens[0].startswith("r") or not tokens[-1].startswith("head_"):
            raise SpecError("expected 'r<res>_n<classes>,<stem>,<blocks...>,head_...'", key="arch string")
        header = dict(_split_field(part) for part in tokens[0].split("_"))
        try:
            resolution, num_classes = int(header["r"]), int(header["n"])
        except (KeyError, ValueError):
            raise SpecError(f"bad header {tokens[0]!r}: expected r<res>_n<classes>", key="arch string") from None
        data = {
            "name": name,
            "resolution": resolution,
            "num_classes": num_classes,
            "stem": _parse_token(tokens[1]),
            "blocks": [_parse_token(token) for token in tokens[2:-1]],
            "head": _parse_head(tokens[-1]),
        }
        return cls.from_dict(data, source="arch string")


def _load_yaml(text: str, source: str | None) -> Any:
    import yaml

    from nas.yamlsafe import YamlRefused, load_yaml

    try:
        return load_yaml(text)
    except YamlRefused as error:
        raise SpecError(f"refused YAML: {error.problem}", source=source) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "malformed YAML"
        raise SpecError(f"malformed YAML{where}: {problem}", source=source) from None


def _split_field(part: str) -> tuple[str, str]:
    for index, char in enumerate(part):
        if char.isdigit() or char == ".":
            return part[:index], part[index:]
    return part, ""


def _parse_token(token: str) -> dict[str, Any]:
    """Decode one block token back into its dict form."""
    parts = token.split("_")
    fields = {"k": "kernel", "s": "stride", "e": "expansion", "h": "hidden", "i": "in_ratio", "o": "out_ratio", "c": "out", "se": "se"}

    def is_field(part: str) -> bool:
        prefix, value = _split_field(part)
        return part in ACTIVATIONS or "=" in part or (prefix in fields and bool(value))

    split = next((index for index, part in enumerate(parts) if index > 0 and is_field(part)), len(parts))
    block: dict[str, Any] = {"type": "_".join(parts[:split])}
    for part in parts[split:]:
        if part in ACTIVATIONS:
            block["act"] = part
            continue
        if "=" in part:
            key, value = part.split("=", 1)
            block[key] = _parse_value(value)
            continue
        prefix, value = _split_field(part)
        if prefix not in fields or not value:
            raise SpecError(f"cannot read {part!r} in block {token!r}", key="arch string")
        block[fields[prefix]] = _parse_value(value)
    return block


def _parse_head(token: str) -> dict[str, Any] | None:
    if token == "head_none":
        return None
    parsed = _parse_token(token)
    return {key: value for key, value in parsed.items() if key != "type"}


def _parse_value(text: str) -> Any:
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def _require_int(data: Mapping[str, Any], key: str, *, minimum: int = 1) -> int:
    if key not in data:
        raise SpecError("missing required key", key=key)
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SpecError(f"must be an integer >= {minimum}, got {value!r}", key=key)
    return value


def _arch_from_dict(data: Any) -> ArchSpec:
    if not isinstance(data, Mapping):
        raise SpecError("an architecture must be a mapping with name, resolution, stem, blocks, head")
    known = {"name", "resolution", "num_classes", "in_channels", "stem", "blocks", "head"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SpecError(f"unknown key (allowed: {', '.join(sorted(known))})", key=str(unknown[0]))
    from nas.limits import MAX_BLOCKS, MAX_CHANNELS, MAX_CLASSES, MAX_RESOLUTION, check_int, check_name

    name = check_name(data.get("name", "custom"))
    resolution = check_int(_require_int(data, "resolution", minimum=8), key="resolution", maximum=MAX_RESOLUTION)
    num_classes = check_int(_require_int(data, "num_classes") if "num_classes" in data else 1000, key="num_classes", maximum=MAX_CLASSES)
    in_channels = check_int(_require_int(data, "in_channels") if "in_channels" in data else 3, key="in_channels", maximum=MAX_CHANNELS)
    if "stem" not in data:
        raise SpecError("missing required key", key="stem")
    stem = block_from_dict(data["stem"], key="stem")
    blocks_data = data.get("blocks")
    if not isinstance(blocks_data, list):
        raise SpecError("must be a list of blocks", key="blocks")
    if len(blocks_data) > MAX_BLOCKS:
        raise SpecError(f"at most {MAX_BLOCKS} blocks, got {len(blocks_data)}", key="blocks")
    blocks = tuple(block_from_dict(block, key=f"blocks[{index}]") for index, block in enumerate(blocks_data))
    head = _head_from_dict(data.get("head"))
    return ArchSpec(name=name, resolution=resolution, num_classes=num_classes, stem=stem, blocks=blocks, head=head, in_channels=in_channels)


def _head_from_dict(data: Any) -> HeadSpec | None:
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise SpecError(f"must be a mapping {{out: C, act: A}} or null, got {data!r}", key="head")
    unknown = sorted(set(data) - {"out", "act"})
    if unknown:
        raise SpecError("unknown key (allowed: out, act)", key=f"head.{unknown[0]}")
    from nas.limits import MAX_CHANNELS, check_int

    out = check_int(_require_int(data, "out"), key="head.out", maximum=MAX_CHANNELS)
    act = data.get("act", "relu")
    if act not in ACTIVATIONS:
        raise SpecError(f"unknown activation {act!r} (allowed: {', '.join(ACTIVATIONS)})", key="head.act")
    return HeadSpec(out=out, act=act)
