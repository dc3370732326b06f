"""Latency lookup tables: a provenance header and one entry per op key, in YAML.

Each entry is ``key: [median_ms, p10_ms, p90_ms, runs]`` (one flow list per line,
so a 10,000-entry table loads in well under a second with libyaml). The header
says where the numbers come from: ``source`` is ``measured``, ``modelled``,
``fitted`` or ``imported``; a modelled number is never presented as a measurement.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from nas.arch import ArchSpec
from nas.errors import NasError
from nas.io import atomic_write_text
from nas.latency.signature import arch_keys
from nas.yamlsafe import YamlRefused, load_yaml

FORMAT = "nas-latency-table"
FORMAT_VERSION = 1
SOURCES = ("measured", "modelled", "fitted", "imported")


class TableError(NasError):
    """A table file that cannot be read, or that lacks entries an architecture needs."""


@dataclass(frozen=True)
class Entry:
    median_ms: float
    p10_ms: float
    p90_ms: float
    runs: int

    def to_list(self) -> list[float | int]:
        return [round(self.median_ms, 6), round(self.p10_ms, 6), round(self.p90_ms, 6), self.runs]


@dataclass(frozen=True)
class Prediction:
    """Table latency of one architecture with the per-layer breakdown (ms)."""

    latency_ms: float
    breakdown: tuple[tuple[str, str, float], ...]  # (layer, key, ms)
    raw_sum_ms: float
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "raw_sum_ms": self.raw_sum_ms,
            "source": self.source,
            "breakdown": [{"layer": layer, "key": key, "ms": ms} for layer, key, ms in self.breakdown],
        }


class MissingEntriesError(TableError):
    def __init__(self, missing: list[str], *, table: "LatencyTable", hint: str) -> None:
        self.missing = missing
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        super().__init__(f"{table.path or table.device}: no entry for {len(missing)} op(s): {shown}; fill them with: {hint}")


@dataclass
class LatencyTable:
    header: dict[str, Any]
    entries: dict[str, Entry] = field(default_factory=dict)
    path: Path | None = None
    # cache of ``_costs``: entry medians × type_scale, valid while (entry count, correction identity) is unchanged
    _cost_state: tuple[int, int] | None = field(default=None, init=False, repr=False, compare=False)
    _cost_cache: dict[str, float] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def device(self) -> str:
        return str(self.header.get("device", {}).get("name", "?"))

    @property
    def precision(self) -> str:
        return str(self.header.get("precision", "fp32"))

    @property
    def source(self) -> str:
        return str(self.header.get("source", "?"))

    @property
    def correction(self) -> dict[str, Any] | None:
        return self.header.get("correction")

    # -- prediction ----------------------------------------------------------------------
    def missing(self, arch: ArchSpec) -> list[str]:
        return [key for _, key in arch_keys(arch, self.precision) if key not in self.entries]

    def latency(self, arch: ArchSpec) -> float:
        """Hot path of the search: a dict lookup per layer, then the table's context correction."""
        costs = self._costs()
        try:
            total = sum(costs[key] for _, key in arch_keys(arch, self.precision))
        except KeyError:
            raise self._missing_error(self.missing(arch), arch) from None
        return self._correct(total, len(arch.blocks) + 2)

    def predict(self, arch: ArchSpec) -> Prediction:
        keys = arch_keys(arch, self.precision)
        missing = [key for _, key in keys if key not in self.entries]
        if missing:
            raise self._missing_error(missing, arch)
        costs = self._costs()
        raw_total = sum(self.entries[key].median_ms for _, key in keys)
        typed = [(layer, key, costs[key]) for layer, key in keys]
        total = sum(ms for _, _, ms in typed)
        corrected = self._correct(total, len(typed))
        scale = corrected / total if total > 0 else 1.0
        breakdown = tuple((layer, key, ms * scale) for layer, key, ms in typed)
        return Prediction(corrected, breakdown, raw_total, self.source)

    def _costs(self) -> dict[str, float]:
        """Entry medians with the correction's per-op-class factors applied (``type_scale``), cached.

        Rebuilt when entries are added or the correction is replaced; ``merge`` resets it.
        """
        correction = self.correction or {}
        state = (len(self.entries), id(correction))
        if self._cost_state != state:
            factors = sorted((correction.get("type_scale") or {}).items(), key=lambda item: -len(item[0]))

            def factor(key: str) -> float:
                return next((value for name, value in factors if key.startswith(name + "_")), 1.0)

            self._cost_cache = {key: entry.median_ms * factor(key) for key, entry in self.entries.items()}
            self._cost_state = state
        return self._cost_cache

    def _correct(self, total: float, layers: int) -> float:
        """Context correction stored in the header: ``scale × Σ type_scale × entry + per_layer_ms × layers + offset_ms``."""
        correction = self.correction
        if not correction:
            return total
        return correction.get("scale", 1.0) * total + correction.get("per_layer_ms", 0.0) * layers + correction.get("offset_ms", 0.0)

    def _missing_error(self, missing: list[str], arch: ArchSpec) -> MissingEntriesError:
        """The error naming the commands that fill the gap: the whole space, or just this architecture."""
        from nas.resources import shipped_dir, user_table_dir
        from nas.space import space_names

        names = space_names()
        space = next((name for name in (arch.name.split("-sample")[0], arch.name.split("-")[0]) if name in names), None)
        table = ""
        if self.path is not None and not any(
            Path(self.path).resolve().is_relative_to(d.resolve()) for d in (shipped_dir("latency_tables"), user_table_dir())
        ):
            table = f" --table {self.path}"  # a table the user keeps elsewhere; the default ones are found without it
        arch_hint = f"nas-profile --device {self.device} --arch ARCH{table} (ARCH: this architecture's YAML file or compact string)"
        if space is not None:
            hint = f"nas-profile --device {self.device} --space {space} --resolution {arch.resolution}{table}, or {arch_hint}"
        else:
            hint = arch_hint
        return MissingEntriesError(sorted(set(missing)), table=self, hint=hint)

    # -- file form -------------------------------------------------------------------------
    def save(self, path: str | Path | None = None) -> Path:
        target = Path(path or self.path or "")
        if not str(target):
            raise TableError("no path to save the latency table to")
        header = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            **{k: v for k, v in self.header.items() if k not in ("format", "version", "entry_count")},
        }
        header["entry_count"] = len(self.entries)  # lets load() tell a table cut at a line end from a complete one
        lines = [yaml.safe_dump(header, sort_keys=False, width=120).rstrip(), "entries:"]
        for key in sorted(self.entries):
            values = ", ".join(repr(v) for v in self.entries[key].to_list())
            lines.append(f"  {key}: [{values}]")
        atomic_write_text(target, "\n".join(lines) + "\n")
        self.path = target
        return target

    @classmethod
    def load(cls, path: str | Path) -> "LatencyTable":
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise TableError(f"{path}: cannot read latency table: {error.strerror}") from None
        except UnicodeDecodeError:
            raise TableError(f"{path}: not a latency table (binary, not UTF-8 YAML text)") from None
        data = _fast_parse(text)
        if data is not None:
            return cls.from_data(data, path=path)
        try:
            data = load_yaml(text)
        except YamlRefused as error:
            raise TableError(f"{path}: refused latency table: {error.problem}") from None
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark else ""
            problem = getattr(error, "problem", None)
            why = f": {problem}" if problem and "alias" in problem else ""
            raise TableError(f"{path}: corrupted latency table (invalid YAML{where}{why}); re-create it with nas-profile") from None
        return cls.from_data(data, path=path)

    @classmethod
    def from_data(cls, data: Any, *, path: Path | None = None) -> "LatencyTable":
        where = str(path) if path else "latency table"
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise TableError(f"{where}: not a latency table (expected 'format: {FORMAT}')")
        version = data.get("version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise TableError(
                f"{where}: table format version {version!r} is newer than this program reads ({FORMAT_VERSION}); upgrade the framework"
            )
        if data.get("source") not in SOURCES:
            raise TableError(f"{where}: source must be one of {', '.join(SOURCES)}, got {data.get('source')!r}")
        raw = data.get("entries") or {}
        if not isinstance(raw, dict):
            raise TableError(f"{where}: 'entries' must be a mapping of op key to [median, p10, p90, runs]")
        _check_header(data, where)
        entries = {}
        for key, value in raw.items():
            entries[key] = checked_entry(key, value, where)
        count = data.get("entry_count")
        if isinstance(count, int) and count != len(entries):
            raise TableError(
                f"{where}: truncated latency table: header says {count} entries, file has {len(entries)}; re-run the nas-profile command that wrote it"
            )
        header = {k: v for k, v in data.items() if k not in ("entries", "entry_count")}
        return cls(header=header, entries=entries, path=path)

    def merge(self, entries: dict[str, Entry]) -> None:
        self.entries.update(entries)
        self._cost_state = None


_CORRECTION_NUMBERS = ("scale", "per_layer_ms", "offset_ms", "overhead_ms")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def checked_entry(key: Any, value: Any, where: str) -> Entry:
    """One ``[median_ms, p10_ms, p90_ms, runs]``: finite, non-negative, so no NaN or negative cost reaches a study."""
    shown = key if isinstance(key, str) and key.isprintable() and len(key) <= 120 else _short(key)
    if not isinstance(key, str) or not key.isprintable():
        raise TableError(f"{where}: entries: op key {shown} must be a printable string")
    if not (isinstance(value, list) and len(value) == 4):
        raise TableError(
            f"{where}: entries.{shown}: expected [median_ms, p10_ms, p90_ms, runs], got {_short(value)} (truncated or corrupted file?)"
        )
    if not all(_finite(v) and v >= 0 for v in value[:3]):
        raise TableError(f"{where}: entries.{shown}: latencies must be finite numbers >= 0 ms, got {_short(value)}")
    runs = value[3]
    if not (_finite(runs) and float(runs).is_integer() and runs >= 0):
        raise TableError(f"{where}: entries.{shown}: runs must be an integer >= 0, got {_short(runs)}")
    return Entry(float(value[0]), float(value[1]), float(value[2]), int(runs))


def _check_header(data: dict[str, Any], where: str) -> None:
    """Types of the header fields the program reads: ``device``, ``precision``, ``host``, ``correction``, ``entry_count``."""
    device = data.get("device")
    if not (isinstance(device, dict) and isinstance(device.get("name"), str) and device["name"].isprintable() and device["name"]):
        raise TableError(f"{where}: device: expected a mapping {{name: <printable text>, description: <text>}}, got {_short(device)}")
    if "description" in device and not isinstance(device["description"], str):
        raise TableError(f"{where}: device.description: expected text, got {_short(device['description'])}")
    if not isinstance(data.get("precision", "fp32"), str):
        raise TableError(f"{where}: precision: expected text such as fp32 or int8, got {_short(data.get('precision'))}")
    if "host" in data:
        from nas.latency.host import check

        problem = check(data["host"])
        if problem:
            raise TableError(f"{where}: host: {problem}, got {_short(data['host'])}")
    count = data.get("entry_count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
        raise TableError(f"{where}: entry_count: expected an integer >= 0, got {_short(count)}")
    correction = data.get("correction")
    if correction is None:
        return
    if not isinstance(correction, dict):
        raise TableError(
            f"{where}: correction: expected a mapping with scale, per_layer_ms, offset_ms, type_scale, got {_short(correction)}"
        )
    for name in _CORRECTION_NUMBERS:
        if name in correction and not _finite(correction[name]):
            raise TableError(f"{where}: correction.{name}: expected a finite number, got {_short(correction[name])}")
    if "scale" in correction and correction["scale"] < 0:
        raise TableError(f"{where}: correction.scale: expected a number >= 0, got {_short(correction['scale'])}")
    factors = correction.get("type_scale")
    if factors is not None:
        if not isinstance(factors, dict):
            raise TableError(f"{where}: correction.type_scale: expected a mapping of op class to factor, got {_short(factors)}")
        for name, factor in factors.items():
            if not (isinstance(name, str) and _finite(factor) and factor >= 0):
                raise TableError(f"{where}: correction.type_scale.{_short(name)}: expected a finite factor >= 0, got {_short(factor)}")


def _short(value: Any, limit: int = 80) -> str:
    """``repr`` cut short: an error line never prints a huge or multi-line value."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fast_parse(text: str) -> dict[str, Any] | None:
    """The layout ``save`` writes, parsed without a YAML pass over the entries (10,000 entries in ~50 ms).

    Returns None for anything else (hand-edited or damaged files), which the YAML path then reads or reports.
    """
    head, marker, body = text.partition("\nentries:\n")
    if not marker:
        return None
    try:
        data = load_yaml(head)
    except yaml.YAMLError:
        return None
    if not isinstance(data, dict):
        return None
    raw: dict[str, list[float | int]] = {}
    for line in body.splitlines():
        key, sep, values = line.strip().rpartition(": [")
        if not sep or not values.endswith("]") or not line.startswith("  "):
            return None
        parts = values[:-1].split(", ")
        try:
            raw[key] = [float(parts[0]), float(parts[1]), float(parts[2]), int(parts[3])] if len(parts) == 4 else []
        except ValueError:
            return None
        if not raw[key]:
            return None
    data["entries"] = raw
    return data


def new_header(*, device: str, description: str, source: str, precision: str, **extra: Any) -> dict[str, Any]:
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}")
    return {
        "device": {"name": device, "description": description},
        "source": source,
        "precision": precision,
        "date": _dt.date.today().isoformat(),
        "unit": "ms",
        **extra,
    }


def keys_of(archs: Iterable[ArchSpec], precision: str) -> set[str]:
    return {key for arch in archs for _, key in arch_keys(arch, precision)}
