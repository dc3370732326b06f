"""Zero-cost proxies: score a freshly initialised network from one batch, no training.

Each candidate is built with a seeded initialisation and evaluated at a reduced
input resolution, ``min(arch.resolution, 32)`` by default: a 224-pixel MobileDets
candidate is scored on 32×32 inputs (its cell structure, depth and widths are
unchanged; the spatial extent after the stride-32 stem/stages is 1×1), which keeps
one evaluation well under 0.5 s on one CPU core. Scores are logarithms where the
raw value spans orders of magnitude, so ensembles can add them.

Data-dependent proxies read a seeded batch of real images when ``data`` is given
and otherwise a seeded Gaussian-noise batch with random labels (data-free).

References: synflow (Tanaka et al., 2020), NASWOT (Mellor et al., 2021), grad_norm
and snip as zero-cost proxies (Abdelfattah et al., 2021), Zen-score (Lin et al., 2021),
ZiCo (Li et al., 2023), SWAP (Peng et al., 2024).
"""

from __future__ import annotations

import math
from typing import Any, Callable, ClassVar, Iterator

import torch
from torch import nn

from nas.arch import ArchSpec
from nas.builder import Network, build_model
from nas.proxies.base import Proxy, ProxyError, Report
from nas.proxies.data import ImageData

ACTIVATION_TYPES = (nn.ReLU, nn.ReLU6, nn.Hardswish, nn.SiLU)


class ZeroCostProxy(Proxy):
    """Builds the seeded network and an input batch, then ``measure``s it."""

    resolution: ClassVar[int] = 32  # evaluated at min(arch.resolution, this)
    batch_size: ClassVar[int] = 64

    def score(self, arch: ArchSpec, *, seed: int = 0, data: Any = None, report: Report | None = None) -> float:
        size = min(arch.resolution, self.resolution)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = build_model(arch)
            inputs, labels = self.inputs(arch, size=size, seed=seed, data=data)
            return self.measure(model, inputs, labels)

    def inputs(self, arch: ArchSpec, *, size: int, seed: int, data: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """A seeded batch: real images when this proxy uses data and some is given, else noise."""
        if self.uses_data and isinstance(data, ImageData):
            images, labels = data.batch(self.batch_size, seed=seed, size=size)
            return images, labels % arch.num_classes
        generator = torch.Generator().manual_seed(seed)
        images = torch.randn(self.batch_size, arch.in_channels, size, size, generator=generator)
        return images, torch.randint(0, arch.num_classes, (self.batch_size,), generator=generator)

    def measure(self, model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
        raise NotImplementedError


def _weights(model: nn.Module) -> Iterator[torch.Tensor]:
    """Convolution and linear weights (what pruning-based saliencies sum over)."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            yield module.weight


def _log(value: float, what: str) -> float:
    if not math.isfinite(value) or value <= 0:
        raise ProxyError(f"{what} is {value}; cannot take its logarithm")
    return math.log(value)


class SynflowProxy(ZeroCostProxy):
    """log Σ|θ ⊙ ∂R/∂θ| with R the summed output of the |θ|-network on an all-ones input (data-free)."""

    name = "synflow"
    description = "log synaptic flow of the |weights| network on an all-ones input (data-free)"
    batch_size = 1

    def measure(self, model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
        model = _linearised(model).double().eval()  # eval BN: running stats are 0/1, so BN is a plain (near-identity) scale
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.abs_()
        model(torch.ones_like(inputs, dtype=torch.float64)).sum().backward()
        total = sum(float((w.detach() * w.grad).abs().sum()) for w in _weights(model) if w.grad is not None)
        return _log(total, "synflow")


def _linearised(model: nn.Module) -> nn.Module:
    """Every activation as ReLU: synflow's inputs are all positive, where ReLU is the identity, but ReLU6 and
    h-swish saturate and would cut the flow to the layers after the last one (every MobileNetV2 width then
    scored alike)."""
    for parent in model.modules():
        for name, child in parent.named_children():
            if isinstance(child, ACTIVATION_TYPES) and type(child) is not nn.ReLU:
                setattr(parent, name, nn.ReLU())
    return model


def _read_activations(model: nn.Module, inputs: torch.Tensor, hook: Callable[[nn.Module, tuple[torch.Tensor, ...]], None]) -> int:
    """One training-mode forward pass with ``hook`` seeing every activation's input; the number of activations."""
    handles = [m.register_forward_pre_hook(hook) for m in model.modules() if isinstance(m, ACTIVATION_TYPES)]
    try:
        with torch.no_grad():
            model.train()(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return len(handles)


class NaswotProxy(ZeroCostProxy):
    """log|K_H|: K counts, for each pair of inputs, the units whose ReLU on/off state agrees."""

    name = "naswot"
    uses_data = True
    batch_size = 32  # measured: same rank correlation as 64 at half the cost
    description = "NASWOT log-determinant of the activation-pattern kernel (real images if --data, else noise)"

    def measure(self, model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
        n = inputs.shape[0]
        kernel = torch.zeros(n, n, dtype=torch.float64)

        def hook(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
            codes = (args[0] > 0).flatten(1).float()
            on = codes.sum(1, keepdim=True)
            # agreements = both on + both off = n_units - on_i - on_j + 2 on_i·on_j
            agree = codes.shape[1] - on - on.T + 2 * (codes @ codes.T)
            kernel.add_(agree.double())

        if not _read_activations(model, inputs, hook):
            raise ProxyError("naswot: the network has no activation to read")
        sign, logdet = torch.linalg.slogdet(kernel)
        if sign <= 0:
            raise ProxyError("naswot: the activation-pattern kernel is singular (identical patterns)")
        return float(logdet)


class SwapProxy(ZeroCostProxy):
    """log of the number of distinct sample-wise activation patterns: each unit's on/off vector over the batch."""

    name = "swap"
    uses_data = True
    batch_size = 32  # a unit's pattern is one 32-bit integer
    description = "SWAP: log number of distinct per-unit ReLU on/off patterns over a batch of 32 (real images if --data, else noise)"

    def measure(self, model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
        bits = 2 ** torch.arange(inputs.shape[0], dtype=torch.int64)
        patterns: list[torch.Tensor] = []

        def hook(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
            on = (args[0] > 0).flatten(1).T.long()  # units × samples
            patterns.append(on @ bits)

        if not _read_activations(model, inputs, hook):
            raise ProxyError("swap: the network has no activation to read")
        return _log(float(torch.unique(torch.cat(patterns)).numel()), "swap")


class _GradientProxy(ZeroCostProxy):
    """One cross-entropy backward pass in training mode; subclasses reduce the gradients."""

    uses_data = True
    batch_size = 32

    def measure(self, model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
        model.train()
        nn.functional.cross_entropy(model(inputs), labels).backward()
        return _log(self.reduce([(w, w.grad) for w in _weights(model) if w.grad is not None]), self.name)

    def reduce(self, weights: list[tuple[torch.Tensor, torch.Tensor]]) -> float:
        """Reduce (weight, gradient) pairs to one positive number."""
        raise NotImplementedError


class GradNormProxy(_GradientProxy):
    name = "grad_norm"
    description = "log Σ‖∂L/∂W‖ over conv/linear weights after one cross-entropy backward"

    def reduce(self, weights: list[tuple[torch.Tensor, torch.Tensor]]) -> float:
        return sum((float(grad.norm()) for _, grad in weights), 0.0)


class SnipProxy(_GradientProxy):
    name = "snip"
    description = "log Σ|W ⊙ ∂L/∂W| (SNIP connection saliency) after one cross-entropy backward"

    def reduce(self, weights: list[tuple[torch.Tensor, torch.Tensor]]) -> float:
        return sum((float((w.detach() * grad).abs().sum()) for w, grad in weights), 0.0)


class ZicoProxy(ZeroCostProxy):
    """ZiCo: Σ_layers log Σ_w mean|∂L/∂w| / std(∂L/∂w), statistics over mini-batches (high, steady gradients)."""

    name = "zico"
    uses_data = True
    batch_size = 32  # split into ``batches`` mini-batches of 16: ≤ 0.5 s on a 224-px mobiledet candidate
    batches = 2
    description = "ZiCo: per-layer log of mean |gradient| over its standard deviation across 2 mini-batches"

    def measure(self, model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
        model.train()
        weights = list(_weights(model))
        grads: list[list[torch.Tensor]] = [[] for _ in weights]
        for x, y in zip(inputs.chunk(self.batches), labels.chunk(self.batches)):
            model.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(model(x), y).backward()
            for store, weight in zip(grads, weights):
                if weight.grad is not None:
                    store.append(weight.grad.detach().clone())
        total, layers = 0.0, 0
        for store in grads:
            if len(store) < 2:
                continue
            # element-wise over the batches (torch.std along a new leading dim is ~10x slower here)
            mean = _mean(store)
            std = _mean([(g - mean) ** 2 for g in store]).sqrt_()
            mean_abs = _mean([g.abs() for g in store])
            steady = std > 0
            value = float((mean_abs[steady] / std[steady]).sum())
            if value > 0:
                total, layers = total + math.log(value), layers + 1
        if not layers or not math.isfinite(total):
            raise ProxyError("zico: no layer has gradients that vary across mini-batches")
        return total


def _mean(tensors: list[torch.Tensor]) -> torch.Tensor:
    """Element-wise mean of equal-shaped tensors, added in order (what ``sum(tensors) / n`` computes)."""
    total = tensors[0]
    for tensor in tensors[1:]:
        total = total + tensor
    return total / len(tensors)


class ZenProxy(ZeroCostProxy):
    """Zen-score: log E‖f(x) − f(x + 0.01ε)‖ + Σ_BN log √(mean batch variance), Gaussian weights and inputs."""

    name = "zen"
    description = "Zen-score: expressivity of the pre-pooling features under Gaussian weights and inputs (data-free)"
    batch_size = 16
    mixup = 1e-2

    def measure(self, model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, (nn.Conv2d, nn.Linear)):
                    nn.init.normal_(module.weight)
        variances: list[torch.Tensor] = []

        def hook(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
            if len(variances) < n_bn:  # only the clean pass; the perturbed pass repeats them
                variances.append(args[0].var(dim=(0, 2, 3), unbiased=False).mean())

        bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
        n_bn = len(bns)
        handles = [m.register_forward_pre_hook(hook) for m in bns]
        if not isinstance(model, Network):
            raise ProxyError("zen: scores a network built by nas.builder (it reads the features before pooling)")
        features = model.features
        try:
            with torch.no_grad():
                model.train()
                clean = features(inputs)
                noisy = features(inputs + self.mixup * torch.randn_like(inputs))
        finally:
            for handle in handles:
                handle.remove()
        delta = float((clean - noisy).abs().sum(dim=(1, 2, 3)).mean())
        bn_term = sum(0.5 * _log(float(v), "zen BN variance") for v in variances)
        return _log(delta, "zen feature difference") + bn_term
