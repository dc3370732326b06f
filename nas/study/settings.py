"""``SearchSettings``: every option of a search, checked once, in one place.

Each field's metadata (``_opt``) is the one table of options: the ``nas-search`` flags and their
parsing, the keyword checks of ``nas.search(...)`` and the report's "Rerun with" line all derive
from it, so adding an option touches this file only. Limits are where a user would expect them and
each breach is one line naming the option:

* ``--seed``: 0 … 2**32 − 1 (what NumPy's and Optuna's seeded generators take);
* ``--population``: ≥ 2 (NSGA-II crosses two parents);
* ``--heartbeat``: 1 … 3,600 s (a grace period beyond 3 hours fails no crashed trial in practice);
* ``--workers``: 1 … 4 × the CPUs this process may use (more processes than that only share the
  same cores and memory: 12 workers took 3.1 GB), and never more processes than trials left;
* ``--trials``: 1 … 1,000,000; ``--threads``: 1 … 1,024; ``--finalists``: 0 … 1,000.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shlex
from dataclasses import Field, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

from nas.errors import NasError

DEFAULT_TRIALS = 200  # the default (ensemble) proxy costs 0.15-0.36 s a trial here: 200 trials fit 3 minutes with margin
DEFAULT_FINALISTS = 0  # off: no measured gain at the supernet's default screen (nas/study/finalists.py)
HEARTBEAT_S = 10  # a searching worker records a heartbeat this often on RDB storages (Optuna's heartbeat)
GRACE_FACTOR = 3  # ... and a RUNNING trial without one for GRACE_FACTOR intervals is failed
MAX_SEED = 2**32 - 1
MAX_TRIALS = 1_000_000
MAX_HEARTBEAT_S = 3600
Check = Callable[[Any], "str | None"]  # a value → what is wrong with it (after the flag), or None


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def max_workers() -> int:
    return 4 * usable_cpus()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def count(high: int | Callable[[], int], *, low: int = 1, extra: str | Callable[[], str] = "") -> Check:
    """A positive integer in ``low … high`` (``high``, ``extra``: callables for limits known only at run time)."""

    def check(value: Any) -> str | None:
        top, more = high() if callable(high) else high, extra() if callable(extra) else extra
        if _is_int(value) and low <= value <= top:
            return None
        if low < 1:
            return f"must be an integer from {low} to {top}"
        return f"must be a positive integer{more or (f' of at most {top}' if _is_int(value) and value >= 1 else '')}"

    if low < 1:
        _ZERO_ALLOWED.append(check)
    return check


_ZERO_ALLOWED: list[Check] = []  # count() checks with low 0: the CLI parses them as plain integers


def positive(value: Any) -> str | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    return None if ok else "must be a positive number"


def finite(value: Any) -> str | None:
    return None if isinstance(value, (int, float)) and math.isfinite(value) else "must be a finite number"


def seed_check(value: Any) -> str | None:
    return None if _is_int(value) and 0 <= value <= MAX_SEED else f"must be an integer in 0 … {MAX_SEED}"


def option(
    default: Any,
    help: str,
    check: Check | None = None,
    *,
    flag: str = "",
    metavar: str | None = None,
    rerun: bool = True,
    choices: str = "",
) -> Any:
    """One row of the option table: the field's default, its CLI help and check, whether "Rerun with" repeats it.

    The flag is ``--`` and the field's name unless given; the CLI parses the field's annotated type (``int``,
    ``float``, ``str``); ``choices`` names the registry whose names the CLI offers (looked up when the parser is built).
    """
    return field(
        default=default, metadata={"flag": flag, "help": help, "check": check, "metavar": metavar, "rerun": rerun, "choices": choices}
    )


@dataclass(frozen=True, kw_only=True)
class SearchSettings:
    """What a user typed, checked; ``SearchContext.create`` loads the objects it names."""

    space: str = option("mobiledet", "space name or space YAML [mobiledet]")
    device: str = option("cpu", "target device, or a latency table YAML (its table prices each candidate) [cpu]")
    table: str | None = option(None, "latency table YAML to price candidates with instead of the device's own (same precision)")
    resolution: int | None = option(None, "input resolution [the space's]", count(100_000))
    latency_target_ms: float | None = option(
        None, "latency budget in ms (turns the default objective into constrained)", positive, flag="--latency-target", metavar="MS"
    )
    objective: str | None = option(
        None, "pareto (2 objectives), constrained, tunas, mnas [pareto; constrained with a target]", choices="objectives"
    )
    beta: float | None = option(None, "tunas β [-0.10] or mnas w [-0.07]", finite)
    proxy: str | None = option(
        None,
        "accuracy proxy [with --data: supernet, trained into OUT/supernet (or --supernet DIR); without: default, "
        "the zero-cost nas.proxies.DEFAULT_PROXY]",
    )
    supernet: str | None = option(None, "trained supernet folder for --proxy supernet (nas-supernet train)", metavar="DIR")
    finalists: int = option(
        DEFAULT_FINALISTS,
        f"re-score the N best networks within the budget precisely and choose among them (proxies that can: supernet, on "
        f"the whole validation split); 0: off [{DEFAULT_FINALISTS}]",
        count(1000, low=0),
        metavar="N",
    )
    trials: int = option(
        DEFAULT_TRIALS, f"total finished (complete + pruned) trials the study should hold [{DEFAULT_TRIALS}]", count(MAX_TRIALS)
    )
    timeout: float | None = option(None, "stop starting trials after S seconds", positive, metavar="S")
    sampler: str = option("nsga2", "Optuna sampler [nsga2]", choices="samplers")
    population: int | None = option(
        None,
        "NSGA-II population size [trials/10, between 10 and 50: about ten generations]",
        count(MAX_TRIALS, low=2, extra=" of at least 2 (NSGA-II crosses two parents)"),
        metavar="N",
    )
    seed: int | None = option(0, f"sampler and proxy seed, 0 … {MAX_SEED} [0]", seed_check)
    storage: str | None = option(None, "Optuna storage: a *.journal file, sqlite:///FILE or postgresql://... [sqlite:///OUT/study.db]")
    study_name: str | None = option(None, "study name [derived from space, resolution, device, objective, proxy, target]")
    workers: int = option(
        1,
        "local worker processes sharing the storage, at most 4 × the usable CPUs [1]",
        count(max_workers, extra=lambda: f" of at most {max_workers()} (4 × the {usable_cpus()} usable CPUs)"),
        rerun=False,
    )
    threads: int | None = option(
        None,
        "torch threads of a single-process search [the CPUs this process may use; 1 per worker with --workers]",
        count(1024),
        rerun=False,
    )
    heartbeat: int = option(
        HEARTBEAT_S,
        f"on database storages, a running trial's worker beats every S s (1 … {MAX_HEARTBEAT_S}); a trial silent for "
        f"{GRACE_FACTOR}×S s is failed [{HEARTBEAT_S}]",
        count(MAX_HEARTBEAT_S),
        metavar="S",
        rerun=False,
    )
    data: str | None = option(None, "data for data-dependent proxies: cifar10:PATH, imagefolder:PATH, synthetic")
    out: str | None = option(None, "output folder [runs/SPACE-DEVICE]")

    def __post_init__(self) -> None:
        for spec in fields(self):
            value, check = getattr(self, spec.name), spec.metadata["check"]
            if value is None:
                continue
            if kind(spec) is str and isinstance(value, Path):
                object.__setattr__(self, spec.name, str(value))
                continue
            problem = check(value) if check is not None else None if isinstance(value, str) else "must be a string"
            if problem:
                raise NasError(f"{flag(spec)} {problem}, got {value!r}")

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> SearchSettings:
        """Settings from keywords, ``None`` meaning the default (``seed=None``: unseeded); an unknown keyword is one line."""
        unknown = sorted(set(options) - set(cls.__dataclass_fields__))
        if unknown:
            raise NasError(f"unknown search setting {unknown[0]!r} (known: {', '.join(sorted(cls.__dataclass_fields__))})")
        return cls(**{key: value for key, value in options.items() if value is not None or key == "seed"})

    @property
    def torch_threads(self) -> int:
        """``--threads``, else every usable CPU in one process and one per worker process."""
        return self.threads or (usable_cpus() if self.workers == 1 else 1)

    def replace(self, **changes: Any) -> SearchSettings:
        return SearchSettings(**{**asdict(self), **changes})

    def rerun_command(self) -> str:
        """The ``nas-search`` line that reruns (resumes) this search; credentials of the storage URL masked."""
        parts = ["nas-search"]
        for spec in fields(self):
            value = getattr(self, spec.name)
            if spec.metadata["rerun"] and value is not None:
                parts += [flag(spec), shlex.quote(str(mask_url(value) if spec.name == "storage" else value))]
        return " ".join(parts)


def flag(spec: Field[Any]) -> str:
    return spec.metadata["flag"] or "--" + spec.name.replace("_", "-")


def kind(spec: Field[Any]) -> type:
    """What the CLI parses a field's text into: its annotated type (annotations are strings here)."""
    annotation = str(spec.type)
    return int if annotation.startswith("int") else float if annotation.startswith("float") else str


def add_arguments(parser: argparse.ArgumentParser, *, choices: dict[str, list[str]]) -> None:
    """One CLI option per field (defaults stay in the dataclass: an option not given is not passed).

    ``choices`` maps a field's registry name (``samplers``, ``objectives``) to the names the CLI offers;
    the caller looks them up, so that this module stays below the study and objective modules.
    """
    for spec in fields(SearchSettings):
        meta = spec.metadata
        parser.add_argument(
            flag(spec),
            dest=spec.name,
            type=_parse(kind(spec), flag(spec), positive=meta["check"] not in (seed_check, finite, *_ZERO_ALLOWED)),
            metavar=meta["metavar"],
            choices=choices.get(meta["choices"]) if meta["choices"] else None,
            default=spec.default,
            help=meta["help"],
        )


def _parse(kind: type, option: str, *, positive: bool) -> Any:
    """The CLI's parse of one option; positive ones refuse ``0`` and negatives already here, as ``argument --x: ...``."""
    what = f"{'a positive' if positive else 'an'} integer" if kind is int else f"{'a positive' if positive else 'a'} number"

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if kind is not str and positive and not value > 0:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    parse.__name__ = option
    return parse


_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/:@]*:)(?P<password>[^@/]*)@")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
CONTROL_CODES = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def mask_url(url: str) -> str:
    """A storage URL fit to show or write: ``postgresql://user:***@host/db`` (credentials never leave the process)."""
    return _PASSWORD.sub(lambda match: f"{match.group('head')}***@", str(url))


def mask_secrets(text: str, url: str | None) -> str:
    """``text`` with the password of ``url`` masked wherever it appears (a driver's error may quote it)."""
    text = mask_url(text)
    match = _PASSWORD.search(str(url or ""))
    return text.replace(match.group("password"), "***") if match and match.group("password") else text


def safe_name(text: str) -> str:
    """A folder name that stays where it is put: no separators, no ``..``, no control codes."""
    return (_UNSAFE.sub("_", str(text)).strip("._") or "search")[:80]


def printable(text: str) -> str:
    """Text for a terminal: control codes (escape sequences included) shown as ``\\xNN``, not executed."""
    return CONTROL_CODES.sub(lambda match: f"\\x{ord(match.group()):02x}", str(text))


def default_out(space: str, device: str, target_ms: float | None) -> Path:
    """``runs/SPACE-DEVICE[-tTms]`` under the working folder, whatever the names hold (``../../x``, ``/abs``)."""
    suffix = f"-t{target_ms:g}ms" if target_ms is not None else ""
    return Path("runs") / safe_name(f"{space}-{device}{suffix}")
