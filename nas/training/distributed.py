"""Several processes (``torchrun``): gloo on CPU, NCCL on GPU; rank 0 writes, gradients are averaged.

Gradients are averaged with one all-reduce of a flat buffer after ``backward`` rather than
through ``DistributedDataParallel``'s reducer: a supernet step runs several sub-network
forwards before one backward, which the reducer refuses ("mark a variable ready only
once"), and one trainer serves both. The result is what DDP computes: the mean gradient
over all processes' images, parameters broadcast from rank 0 at the start, and buffers
(BatchNorm statistics) taken from rank 0 after every step (DDP's ``broadcast_buffers``).
Without SyncBatchNorm (GPU only) each process normalises its own ``batch_size`` images.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


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


def broadcast_state(module: nn.Module, world: World) -> None:
    """Rank 0's parameters and buffers to every process (the same start everywhere)."""
    if world.distributed:
        _broadcast([*module.parameters(), *module.buffers()])


def broadcast_buffers(module: nn.Module, world: World) -> None:
    if world.distributed:
        _broadcast(list(module.buffers()))


def average_gradients(module: nn.Module, world: World) -> None:
    """Replace each gradient by its mean over the processes (one all-reduce of a flat buffer)."""
    if not world.distributed:
        return
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world.size
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


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


def _broadcast(tensors: list[torch.Tensor]) -> None:
    """One broadcast per dtype of the flattened tensors."""
    by_dtype: dict[torch.dtype, list[torch.Tensor]] = {}
    for tensor in tensors:
        by_dtype.setdefault(tensor.dtype, []).append(tensor)
    for group in by_dtype.values():
        flat = torch.cat([t.detach().reshape(-1) for t in group])
        dist.broadcast(flat, src=0)
        offset = 0
        with torch.no_grad():
            for t in group:
                t.copy_(flat[offset : offset + t.numel()].view_as(t))
                offset += t.numel()
