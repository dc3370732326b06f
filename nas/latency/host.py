"""Host fingerprint: which machine a measured latency table belongs to.

A ``cpu`` table is a measurement of one machine: onnxruntime picks kernels by CPU model and
instruction sets, so the same network can run 3-4x slower on a host of the "same" name
(issue 26). ``nas-profile`` writes this fingerprint into the header (``host:``) of every table
it measures in-process; ``host_mismatch`` compares a table's fingerprint with this host's and
returns the one line that ``nas-search``, ``nas-inspect`` and ``report.md`` print.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
from pathlib import Path
from typing import Any

#: instruction sets that change which kernels onnxruntime (and MLAS) runs; only those present are recorded
KERNEL_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16", "avx_vnni")
#: fingerprint fields whose difference makes a table another machine's
MATTERS = ("model_name", "family", "model", "stepping", "flags", "runtime_version")
_TEXT = ("vendor", "model_name", "family", "model", "stepping", "runtime", "runtime_version", "runtime_build", "provider")
_INTS = ("cpus", "threads")
MEASURED_IN_PROCESS = ("ort", "torch")  # bundle entries come from another device, not from this host
#: what names one host's table in the per-user store: its identity plus how it was run (threads stay a header check)
KEY_FIELDS = (*MATTERS, "vendor", "runtime", "provider")


def _cpuinfo() -> dict[str, str]:
    """First processor's fields of /proc/cpuinfo (Linux); empty elsewhere."""
    fields: dict[str, str] = {}
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return fields
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        name, _, value = line.partition(":")
        fields.setdefault(name.strip(), value.strip())
    return fields


def _runtime(runtime: str) -> tuple[str, str]:
    """Version and build text of the runtime that timed the entries."""
    if runtime == "onnxruntime":
        import onnxruntime as ort

        build = ""
        info = getattr(getattr(ort, "capi", None), "_pybind_state", None)  # get_build_info is not re-exported at top level
        if info is not None and hasattr(info, "get_build_info"):
            build = str(info.get_build_info())
        return ort.__version__, build
    import torch

    return torch.__version__, f"cuda {torch.version.cuda}" if torch.version.cuda else "cpu"


def fingerprint(*, runtime: str = "onnxruntime", provider: str = "CPUExecutionProvider", threads: int = 1) -> dict[str, Any]:
    """This host: CPU identity, the kernel-relevant instruction sets, usable CPUs, runtime and how it was run."""
    info = _cpuinfo()
    flags = set(info.get("flags", "").split())
    version, build = _runtime(runtime)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return {
        "vendor": info.get("vendor_id", platform.system()),
        "model_name": info.get("model name", platform.processor() or platform.machine()),
        "family": info.get("cpu family", ""),
        "model": info.get("model", ""),
        "stepping": info.get("stepping", ""),
        "flags": [flag for flag in KERNEL_FLAGS if flag in flags],
        "cpus": cpus,
        "runtime": runtime,
        "runtime_version": version,
        "runtime_build": build,
        "provider": provider,
        "threads": threads,
    }


def check(value: Any) -> str | None:
    """What is wrong with a header's ``host`` field, or None (table.py's header validation)."""
    if isinstance(value, str):  # tables of the torch backend before fingerprints: the host's name only
        return None
    if not isinstance(value, dict):
        return f"expected a mapping of {', '.join(_TEXT + _INTS)} and flags, got {type(value).__name__}"
    for name in _TEXT:
        if name in value and (isinstance(value[name], bool) or not isinstance(value[name], (str, int))):
            return f"{name}: expected text"
    for name in _INTS:
        if name in value and (isinstance(value[name], bool) or not isinstance(value[name], int) or value[name] < 1):
            return f"{name}: expected an integer >= 1"
    flags = value.get("flags", [])
    if not (isinstance(flags, list) and all(isinstance(flag, str) for flag in flags)):
        return "flags: expected a list of instruction-set names"
    return None


def describe(host: dict[str, Any], flags: list[str] | None = None) -> str:
    """Short name of a host: model name and the given (differing) flags."""
    shown = f"'{host.get('model_name', '?')}'"
    return f"{shown} [{' '.join(flags)}]" if flags else shown


def host_mismatch(header: dict[str, Any], *, device: str, space: str = "SPACE", here: dict[str, Any] | None = None) -> str | None:
    """One line when a measured table is not this host's (or its host is unrecorded); None when it is."""
    if header.get("source") != "measured" or header.get("backend") == "bundle":
        return None
    runtime = header.get("runtime") or "onnxruntime"
    if runtime == "pytorch-cuda":
        runtime = "torch"
    try:
        here = here or fingerprint(runtime=runtime if runtime in ("onnxruntime", "torch") else "onnxruntime")
    except ImportError:
        return None
    command = f"nas-profile --device {device} --space {space}"
    table = header.get("host")
    if not isinstance(table, dict):
        known = (
            ", ".join(f"{key}: {header[key]}" for key in ("host", "host_cpu", "runtime", "runtime_version") if key in header) or "nothing"
        )
        return (
            f"latency table of {device!r} was measured on an unrecorded host (header: {known}); this host is {describe(here)} "
            f"with {here['runtime']} {here['runtime_version']}; if they differ, measure this one: {command}"
        )
    differ = [name for name in MATTERS if str(table.get(name, "")) != str(here.get(name, "")) and name != "flags"]
    only_there = sorted(set(table.get("flags", [])) - set(here["flags"]))
    only_here = sorted(set(here["flags"]) - set(table.get("flags", [])))
    if not differ and not only_there and not only_here:
        return None
    what = ", ".join(differ + (["flags"] if only_there or only_here else []))
    return (
        f"latency table of {device!r} was measured on another host ({describe(table, only_there)}, "
        f"{table.get('runtime', '?')} {table.get('runtime_version', '?')}), this host is {describe(here, only_here)} "
        f"({here['runtime']} {here['runtime_version']}); they differ in {what}: measure this one with: {command}"
    )


def host_key(host: dict[str, Any]) -> str:
    """Short stable hash of a fingerprint's identity: the file name of this host's table in the per-user store."""
    identity = {name: sorted(host.get(name, [])) if name == "flags" else str(host.get(name, "")) for name in KEY_FIELDS}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]


@functools.lru_cache(maxsize=8)
def this_host_key(provider: str = "CPUExecutionProvider") -> str | None:
    """``host_key`` of this host for onnxruntime with ``provider``; None when onnxruntime is not installed."""
    try:
        return host_key(fingerprint(runtime="onnxruntime", provider=provider))
    except ImportError:
        return None
