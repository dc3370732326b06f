"""Backends produce latency-table entries for a device: measured, modelled, fitted or bundled.

A backend is a class with a keyword-only constructor and one method::

    backend = get_backend("ort")(device=device, provider="CPUExecutionProvider", threads=1)
    backend.header()                       # provenance fields merged into the table header
    backend.measure(jobs, precision="fp32", on_entry=save_every_few)

``jobs`` are the ops still missing from the table (``nas.latency.profile`` skips
finished keys, which is what makes profiling resumable); ``on_entry`` is called
after each finished entry so the caller can save the table atomically. A backend
that does not produce numbers in-process (``bundle``: files to run on the device)
returns no entries and says what to do next in its return value's ``note``.

Built-ins and plugins share one registry (entry-point group ``nas.latency_backends``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from nas.errors import NasError
from nas.latency.table import Entry
from nas.plugins import PluginError, Registry

if TYPE_CHECKING:
    from nas.latency.devices import Device
    from nas.space.space import HeadOp, Op


@dataclass(frozen=True)
class Job:
    """One table entry to produce: its key and the op (block or head) it prices."""

    key: str
    op: Op | HeadOp


@dataclass
class MeasureResult:
    """What a backend produced; ``note`` tells the user what comes next (e.g. run the bundle)."""

    entries: dict[str, Entry] = field(default_factory=dict)
    note: str = ""


OnEntry = Callable[[str, Entry], None]


@runtime_checkable
class Backend(Protocol):
    """How entries for a device are obtained; ``source`` is the table header's ``source``."""

    name: str
    source: str  # "measured", "modelled", "fitted" or "imported"

    def header(self) -> dict[str, Any]:
        """Provenance for the table header (runtime, version, provider, threads, host, ...)."""
        ...

    def measure(self, jobs: Sequence[Job], *, precision: str, on_entry: OnEntry | None = None) -> MeasureResult:
        """Produce an entry per job (or write files for an off-host run); call ``on_entry`` as each one finishes."""
        ...


BackendFactory = Callable[..., Backend]


class BackendError(NasError):
    """A backend that cannot run here (missing runtime or provider) or an unknown backend name."""


BACKENDS: Registry[BackendFactory] = Registry(
    kind="latency backend",
    group="nas.latency_backends",
    builtins={
        "ort": "nas.latency.backends.ort:OrtBackend",
        "analytic": "nas.latency.backends.analytic:AnalyticBackend",
        "bundle": "nas.latency.backends.bundle:BundleBackend",
        "torch": "nas.latency.backends.torch_cuda:TorchCudaBackend",
    },
    check=callable,
    expected="a callable returning a nas.latency.backends.Backend",
)


def get_backend(name: str) -> BackendFactory:
    try:
        return BACKENDS.get(name)
    except PluginError as error:
        raise BackendError(str(error)) from None


def make_backend(name: str, *, device: Device, provider: str | None = None, out: Path | None = None, **options: Any) -> Backend:
    """Build backend ``name`` for ``device``; each backend takes what it needs from the options."""
    factory = get_backend(name)
    return factory(device=device, provider=provider, out=out, **options)


def backend_names() -> list[str]:
    return BACKENDS.names()


__all__ = ["BACKENDS", "Backend", "BackendError", "Job", "MeasureResult", "OnEntry", "backend_names", "get_backend", "make_backend"]
