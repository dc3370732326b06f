"""Elastic layers: one set of weights per layer and block type, sliced for every smaller choice.

A block's standalone module (built by its own ``Block.module``) is run on slices
of the layer's *largest* module of the same block type: output and input
channels from the first channels, kernels from the centre of the largest kernel
(Once-for-All's elastic width and kernel). The slices are views, so gradients
and BatchNorm's running statistics go to the shared tensors. Running the very
module the standalone network is built from (through ``torch.func.functional_call``)
makes the active path and the extracted network compute the same thing.

Weights are matched by order among modules of the same kind (dense / depthwise /
grouped conv, with or without bias; BatchNorm; Linear), so a small choice may
omit modules of the largest one (the 1×1 expansion of an ``ibn`` with expansion
1, a squeeze-excite). A block type shares weights when its class sets
``supernet_slicing = True`` (the built-ins do); any other choice, or one whose
modules do not fit the largest one, keeps its own module and is listed in
``ElasticLayer.unshared``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

import torch
from torch import nn

from nas.arch import BlockSpec
from nas.blocks import get_block

log = logging.getLogger(__name__)

SLICING_BLOCKS = frozenset({"conv", "separable", "ibn", "fused_ibn", "tucker", "skip"})
_ELASTIC_FIELDS = ("kernel", "expansion", "hidden", "in_ratio", "out_ratio", "se")


def shares_weights(block_type: str) -> bool:
    """True when the block type's modules can be sliced from its largest choice."""
    block = get_block(block_type)
    return bool(getattr(block, "supernet_slicing", block_type in SLICING_BLOCKS))


def group_key(spec: BlockSpec) -> str:
    """Choices sharing one set of weights: the block type and its structural (non-numeric) options."""
    options = "".join(f"_{key}{value}" for key, value in spec.options)
    return f"{spec.type}{options}"


def _leaves(module: nn.Module) -> list[tuple[str, nn.Module]]:
    """Modules that own parameters or buffers directly, in definition (= forward) order."""
    found = []
    for name, sub in module.named_modules():
        if any(True for _ in sub.parameters(recurse=False)) or any(True for _ in sub.buffers(recurse=False)):
            found.append((name, sub))
    return found


def _role(module: nn.Module) -> tuple[object, ...]:
    if isinstance(module, nn.Conv2d):
        if module.groups == 1:
            kind = "dense"
        elif module.groups == module.in_channels == module.out_channels:
            kind = "depthwise"
        else:
            kind = f"groups{module.groups}"
        return ("conv", kind, module.bias is not None)
    return (type(module).__name__,)


def slice_tensor(big: torch.Tensor, shape: Sequence[int]) -> torch.Tensor | None:
    """The first entries of every dimension, the centre of a conv weight's kernel; None when it does not fit."""
    if big.dim() != len(shape):
        return None
    index: list[slice] = []
    for axis, (have, want) in enumerate(zip(big.shape, shape)):
        if want > have:
            return None
        if big.dim() == 4 and axis >= 2:  # kernel height and width: the centre
            if (have - want) % 2:
                return None
            start = (have - want) // 2
            index.append(slice(start, start + want))
        else:
            index.append(slice(0, want))
    return big[tuple(index)]


def match(small: nn.Module, big: nn.Module) -> dict[str, str] | None:
    """``small``'s tensor names → ``big``'s, matching leaf modules in order by role and shape; None if impossible."""
    big_leaves = _leaves(big)
    names: dict[str, str] = {}
    position = 0
    for small_name, small_leaf in _leaves(small):
        while position < len(big_leaves):
            big_name, big_leaf = big_leaves[position]
            position += 1
            if _role(big_leaf) == _role(small_leaf) and _fits(small_leaf, big_leaf):
                for local, tensor in _local_tensors(small_leaf):
                    names[_join(small_name, local)] = _join(big_name, local)
                break
        else:
            return None
    return names


def _local_tensors(module: nn.Module) -> list[tuple[str, torch.Tensor]]:
    return [*module.named_parameters(recurse=False), *module.named_buffers(recurse=False)]


def _fits(small: nn.Module, big: nn.Module) -> bool:
    big_tensors = dict(_local_tensors(big))
    for name, tensor in _local_tensors(small):
        if name not in big_tensors or slice_tensor(big_tensors[name], tensor.shape) is None:
            return False
    return True


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


@dataclass(frozen=True)
class Choice:
    """One way to run a layer: a block spec at an input width."""

    spec: BlockSpec
    in_channels: int


def largest_spec(specs: Iterable[BlockSpec]) -> BlockSpec:
    """The elementwise largest of specs of one group (kernel, expansion, ratios, widths)."""
    specs = list(specs)
    largest = specs[0]
    for field in (*_ELASTIC_FIELDS, "out"):
        values = [getattr(spec, field) for spec in specs if getattr(spec, field) is not None]
        if values:
            largest = replace(largest, **{field: max(values)})
    if largest.expansion is not None and largest.hidden is not None:  # the block takes one of them; keep the wider
        largest = replace(largest, hidden=None) if any(s.expansion is not None for s in specs) else largest
    return largest


class ElasticLayer(nn.Module):
    """All choices of one layer position: shared largest modules per group, own modules for the rest."""

    def __init__(self, *, choices: Sequence[Choice], name: str) -> None:
        super().__init__()
        self.name = name
        self.choices = tuple(dict.fromkeys(choices))
        self.shared = nn.ModuleDict()
        self.own = nn.ModuleDict()
        self._templates: dict[Choice, nn.Module] = {}
        self._names: dict[Choice, tuple[str, dict[str, str]]] = {}  # choice → (module key, small name → big name)
        groups: dict[str, list[Choice]] = {}
        for choice in self.choices:
            if shares_weights(choice.spec.type):
                groups.setdefault(group_key(choice.spec), []).append(choice)
        for key, members in groups.items():
            widest_in = max(choice.in_channels for choice in members)
            spec = largest_spec(choice.spec for choice in members)
            self.shared[key] = get_block(spec.type).module(spec, in_channels=widest_in)
        self.unshared: list[str] = []
        for index, choice in enumerate(self.choices):
            template = self._template(choice)
            key = group_key(choice.spec)
            names = match(template, self.shared[key]) if key in self.shared else None
            if names is None:
                own_key = f"c{index}"
                self.own[own_key] = get_block(choice.spec.type).module(choice.spec, in_channels=choice.in_channels)
                names = {name: name for name, _ in _local_tensors_deep(template)}
                key = f"own:{own_key}"
                self.unshared.append(f"{choice.spec.token()} (in {choice.in_channels})")
            self._names[choice] = (key, names)
        if self.unshared:
            log.info("%s: own weights (no slicing) for %s", name, ", ".join(self.unshared))

    def _template(self, choice: Choice) -> nn.Module:
        """The standalone module's code, without storage of its own (its tensors come from the shared weights)."""
        if choice not in self._templates:
            with torch.device("meta"):
                self._templates[choice] = get_block(choice.spec.type).module(choice.spec, in_channels=choice.in_channels)
        return self._templates[choice]

    def template_modules(self) -> Iterator[nn.Module]:
        """The per-choice modules ``forward`` runs on the shared tensors (all made in ``__init__``), outside the module tree.

        Read by the trainer to make their BatchNorms normalise over every process's images.
        """
        yield from self._templates.values()

    def tensors(self, choice: Choice) -> dict[str, torch.Tensor]:
        """The standalone module's state (names as in ``Block.module``), as views of the shared tensors."""
        if choice not in self._names:
            raise KeyError(choice)
        key, names = self._names[choice]
        if key.startswith("own:"):
            source = self.own[key[len("own:") :]]
            return dict(_local_tensors_deep(source))
        big = dict(_local_tensors_deep(self.shared[key]))
        template = dict(_local_tensors_deep(self._template(choice)))
        views: dict[str, torch.Tensor] = {}
        for small_name, big_name in names.items():
            view = slice_tensor(big[big_name], template[small_name].shape)
            assert view is not None, f"{self.name}: {small_name} no longer fits {big_name}"
            views[small_name] = view
        return views

    def forward(self, x: torch.Tensor, choice: Choice) -> torch.Tensor:
        template = self._template(choice)
        template.train(self.training)
        return torch.func.functional_call(template, self.tensors(choice), (x,), strict=True)


def _local_tensors_deep(module: nn.Module) -> list[tuple[str, torch.Tensor]]:
    return [*module.named_parameters(), *module.named_buffers()]
