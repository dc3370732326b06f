"""PyTorch CUDA backend: ops (and, for validation, whole networks) timed as CUDA graphs on an NVIDIA GPU.

What is timed is what a deployed GPU engine runs: batch 1, eval mode with every
BatchNorm that follows a convolution folded into it, channels-last, fp32 with
cuDNN's TF32 convolutions (PyTorch's default on Ampere and later). Each op is
captured ``copies`` times into one CUDA graph and the graph is replayed between
CUDA events, so an entry is GPU time per op without Python's launch overhead
(the regime TensorRT-style engines approach); a network is captured and timed
the same way, which keeps table sums and end-to-end figures comparable.
onnxruntime-gpu remains the other route (``--backend ort --provider CUDAExecutionProvider``).
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nas.latency.backends import BackendError, Job, MeasureResult, OnEntry
from nas.latency.host import fingerprint
from nas.latency.table import Entry
from nas.latency.timing import Measured, summarise


@dataclass(frozen=True)
class CudaTiming:
    """Warm-up runs (cuDNN picks its algorithms), op copies per graph, replays per round, rounds."""

    warmup: int = 5
    copies: int = 10
    replays: int = 20
    rounds: int = 10

    def header(self) -> dict[str, Any]:
        return {"warmup_runs": self.warmup, "graph_copies": self.copies, "replays_per_round": self.replays, "rounds": self.rounds}


def require_cuda() -> Any:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        raise BackendError("the torch backend needs PyTorch") from None
    if not torch.cuda.is_available():
        raise BackendError("the torch backend needs an NVIDIA GPU and a CUDA build of PyTorch (torch.cuda.is_available() is False here)")
    return torch


def fold_batchnorm(module: Any) -> Any:
    """Fold each BatchNorm2d that directly follows a Conv2d in a Sequential into that conv (eval mode)."""
    from torch import nn
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    for parent in module.modules():
        if not isinstance(parent, nn.Sequential):
            continue
        names = list(parent._modules)
        for first, second in zip(names, names[1:]):
            conv, bn = parent._modules[first], parent._modules[second]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                parent._modules[first] = fuse_conv_bn_eval(conv, bn)
                parent._modules[second] = nn.Identity()
    return module


class GraphTimer:
    """One module on the GPU, captured ``copies`` times into a CUDA graph; ``round()`` times one round (ms per copy)."""

    def __init__(self, module: Any, shape: Sequence[int], timing: CudaTiming) -> None:
        torch = require_cuda()
        self.timing = timing
        self.module = fold_batchnorm(module.eval()).cuda().to(memory_format=torch.channels_last)
        self.input = torch.randn(*shape, device="cuda").contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(timing.warmup):
                    self.module(self.input)
            torch.cuda.current_stream().wait_stream(side)
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph):
                for _ in range(timing.copies):
                    self.output = self.module(self.input)
        self.graph.replay()
        torch.cuda.synchronize()
        self.start, self.end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)

    def round(self) -> float:
        self.start.record()
        for _ in range(self.timing.replays):
            self.graph.replay()
        self.end.record()
        self.end.synchronize()
        return self.start.elapsed_time(self.end) / (self.timing.replays * self.timing.copies)

    def runs(self) -> int:
        return self.timing.replays * self.timing.copies


def entry_of(round_ms: Sequence[float], runs: int) -> Entry:
    """Per-round means (each over many graph replays) through the shared outlier rule; ``runs`` counts replays."""
    return summarise(round_ms, runs=runs)


def time_op(module: Any, shape: Sequence[int], timing: CudaTiming) -> Entry:
    timer = GraphTimer(module, shape, timing)
    return entry_of([timer.round() for _ in range(timing.rounds)], timer.runs() * timing.rounds)


def gpu_name() -> str:
    torch = require_cuda()
    return str(torch.cuda.get_device_name(0))


class TorchCudaBackend:
    """Measured entries: each op's torch block timed as a CUDA graph (see the module docstring)."""

    name = "torch"
    source = "measured"

    def __init__(self, *, device: Any, timing: CudaTiming | None = None, progress: bool = True, **_: Any) -> None:
        self.torch = require_cuda()
        self.device = device
        self.timing = timing if isinstance(timing, CudaTiming) else CudaTiming()
        self.progress = progress
        self.torch.backends.cudnn.benchmark = True

    def header(self) -> dict[str, Any]:
        torch = self.torch
        return {
            "runtime": "pytorch-cuda",
            "runtime_version": str(torch.__version__),
            "cuda": str(torch.version.cuda),
            "cudnn": int(torch.backends.cudnn.version() or 0),
            "gpu": gpu_name(),
            "tf32_convolutions": bool(torch.backends.cudnn.allow_tf32),
            **self.timing.header(),
            "host_name": platform.node(),
            "host": fingerprint(runtime="torch", provider="CUDA graphs", threads=1),
            "method": "each op's torch block, BN folded, batch 1, channels-last, fp32, captured as a CUDA graph and timed with CUDA events",
        }

    def measure(self, jobs: Sequence[Job], *, precision: str, on_entry: OnEntry | None = None) -> MeasureResult:
        from tqdm import tqdm

        from nas.latency.profile import op_input_shape, op_module

        if precision != "fp32":
            raise BackendError(
                f"the torch backend times fp32 only (asked for {precision}); use the ort backend with a quantized model for int8"
            )
        result = MeasureResult()
        for job in tqdm(jobs, desc=f"profiling {self.device.name} ({self.gpu})", unit="op", disable=not self.progress or not jobs):
            entry = time_op(op_module(job.op), op_input_shape(job.op), self.timing)
            result.entries[job.key] = entry
            if on_entry is not None:
                on_entry(job.key, entry)
        return result

    @property
    def gpu(self) -> str:
        return gpu_name()


def time_networks(
    archs: Sequence[Any], *, rounds: int = 10, runs_per_round: int = 20, progress: bool = True, timing: CudaTiming | None = None
) -> list[Any]:
    """End-to-end CUDA-graph latency of whole networks, interleaved round by round (``nas.latency.validate`` timer)."""
    from tqdm import tqdm

    from nas.builder import build_model

    torch = require_cuda()
    torch.backends.cudnn.benchmark = True
    timing = timing or CudaTiming(copies=1, replays=runs_per_round, rounds=rounds)
    timers: list[GraphTimer] = []
    for arch in tqdm(archs, desc="capturing networks", unit="net", disable=not progress):
        timers.append(GraphTimer(build_model(arch), (1, arch.in_channels, arch.resolution, arch.resolution), timing))
    per_net: list[list[float]] = [[] for _ in timers]
    for _ in tqdm(range(timing.rounds), desc="timing networks (interleaved rounds)", unit="round", disable=not progress):
        for values, timer in zip(per_net, timers):
            values.append(timer.round())
    return [Measured.of(entry_of(values, timer.runs() * timing.rounds), values) for values, timer in zip(per_net, timers)]


__all__ = ["CudaTiming", "GraphTimer", "TorchCudaBackend", "fold_batchnorm", "require_cuda", "time_networks", "time_op"]
