"""Several processes (``torchrun``): gloo on CPU, NCCL on GPU; rank 0 writes, gradients are averaged.

Gradients are averaged by ``DistributedDataParallel`` around one forward that computes the
step's whole loss (:func:`step_loss`), however many sub-network forwards it runs (the
sandwich rule runs 2 + ``random_paths``). DDP on the supernet itself with ``no_sync()``
for all but the last of those forwards fails (torch 2.13, 2 gloo processes): with
``find_unused_parameters`` the last forward marks the parameters only earlier forwards
used as unused, and their gradients then arrive in ``backward``: "Expected to mark a
variable ready only once".

BatchNorm in training mode normalises by the statistics of the *global* batch (every
process's images), as ``torch.nn.SyncBatchNorm`` does on GPUs, so that N processes with
batch B train what one process with batch N×B trains. ``SyncBatchNorm`` refuses CPU
tensors (torch 2.13: "expected input tensor to be on GPU"), so on the CPU
:class:`GlobalBatchNorm2d` all-reduces the per-channel sums itself (differentiably, through
``torch.distributed.nn.functional.all_reduce``); on CUDA the norms become ``SyncBatchNorm``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_autograd
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from nas.training.task import TrainingTask


@dataclass(frozen=True)
class World:
    """This process's place among the training processes (rank 0 of 1 without torchrun)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def join(device: torch.device) -> World:
    """Join the process group that ``torchrun`` describes in the environment; a single process joins none."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    world = World(rank=int(os.environ["RANK"]), size=size, local_rank=int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return world


def leave(world: World) -> None:
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()


class _StepLoss(nn.Module):
    """One step's whole loss as one forward, so that DDP sees every sub-network forward of the step at once."""

    def __init__(self, task: TrainingTask) -> None:
        super().__init__()
        self.network = task.module  # registered: DDP averages (and broadcasts) its parameters and buffers
        self._loss = task.loss

    def forward(self, images: torch.Tensor, labels: torch.Tensor, step: int) -> torch.Tensor:
        return self._loss(images, labels, step=step)


def step_loss(task: TrainingTask, *, world: World, device: torch.device) -> Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]:
    """``task.loss`` for the loop; with several processes through ``DistributedDataParallel``.

    DDP broadcasts rank 0's parameters and buffers when it is built (build it before the EMA copy)
    and its buffers before every step, and averages the gradients during ``backward``.
    ``find_unused_parameters``: a supernet step leaves the unchosen block types without gradients.
    """
    if not world.distributed:
        return lambda images, labels, step: task.loss(images, labels, step=step)
    wrapped = DistributedDataParallel(
        _StepLoss(task),
        device_ids=[device.index] if device.type == "cuda" else None,
        find_unused_parameters=True,
    )
    return lambda images, labels, step: wrapped(images, labels, step)


def sum_across(values: torch.Tensor, world: World) -> torch.Tensor:
    """The element-wise sum over the processes of a small CPU tensor (NCCL reduces GPU tensors only)."""
    if not world.distributed:
        return values
    if dist.get_backend() == "nccl":
        on_gpu = values.to(torch.device("cuda", torch.cuda.current_device()))
        dist.all_reduce(on_gpu)
        return on_gpu.cpu()
    dist.all_reduce(values)
    return values


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()


# -- BatchNorm over the global batch ---------------------------------------------------------


class GlobalBatchNorm2d(nn.BatchNorm2d):
    """``BatchNorm2d`` whose training-mode statistics are those of all processes' images together (CPU SyncBatchNorm).

    Same parameters, buffers and state-dict names as ``BatchNorm2d``; in eval mode, or with one
    process, it *is* ``BatchNorm2d``. Two all-reduces per call: the per-channel sums and counts
    (the mean), then the sums of squared deviations from it (the variance, two-pass for the
    same accuracy as one process's BatchNorm). Their backward all-reduces the gradients, so
    each process's input gradient includes the other processes' losses, as on one process.
    """

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(input)
        self._check_input_dim(input)
        x = input if input.dtype in (torch.float32, torch.float64) else input.float()  # half precision: statistics in float32
        dims = [0, *range(2, x.dim())]
        local = torch.cat([x.sum(dims), x.new_tensor([x.numel() / x.shape[1]])])
        total = dist_autograd.all_reduce(local)
        count = total[-1].detach()
        mean = total[:-1] / count
        shape = [1, -1] + [1] * (x.dim() - 2)
        centred = x - mean.view(shape)
        var = dist_autograd.all_reduce((centred * centred).sum(dims)) / count
        y = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.weight is not None:
            y = y * self.weight.view(shape)
        if self.bias is not None:
            y = y + self.bias.view(shape)
        self._update_running_stats(mean.detach(), var.detach(), int(count))
        return y.to(input.dtype)

    def _update_running_stats(self, mean: torch.Tensor, var: torch.Tensor, count: int) -> None:
        """What ``F.batch_norm`` does to the buffers: momentum (or the cumulative average), unbiased variance."""
        if not self.track_running_stats or self.running_mean is None or self.running_var is None:
            return
        factor = 0.0 if self.momentum is None else self.momentum
        if self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        with torch.no_grad():
            self.running_mean.mul_(1 - factor).add_(mean.to(self.running_mean.dtype), alpha=factor)
            unbiased = var * (count / max(count - 1, 1))
            self.running_var.mul_(1 - factor).add_(unbiased.to(self.running_var.dtype), alpha=factor)


@runtime_checkable
class RunsTemplates(Protocol):
    """A module that also runs modules outside its module tree on its own tensors (the supernet's per-choice code)."""

    def template_modules(self) -> Iterator[nn.Module]: ...


def global_batch_norm(module: nn.Module, *, world: World, device: torch.device) -> int:
    """Make every ``BatchNorm2d`` that ``module`` runs normalise over the global batch; returns how many.

    The class of each norm is swapped in place (no state changes), so the norms of modules that run
    outside the module tree (``RunsTemplates``) convert too and checkpoints keep their names.
    One process: nothing changes.
    """
    if not world.distributed:
        return 0
    on_gpu = device.type == "cuda"
    converted = 0
    for sub in _every_module(module):
        if type(sub) is nn.BatchNorm2d:
            norm: nn.Module = sub  # a BatchNorm2d becoming a SyncBatchNorm (a sibling class with the same state)
            if on_gpu:
                norm.__class__ = nn.SyncBatchNorm
                vars(norm)["process_group"] = None  # the default group, as SyncBatchNorm.__init__ sets it
            else:
                norm.__class__ = GlobalBatchNorm2d
            converted += 1
    return converted


def _every_module(module: nn.Module) -> Iterator[nn.Module]:
    for sub in module.modules():
        yield sub
        if isinstance(sub, RunsTemplates):
            for template in sub.template_modules():
                yield from template.modules()
