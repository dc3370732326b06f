"""Search settings as typed by a user → checked, loaded objects (space, table, proxy, objective).

Every check that can fail runs here, before the first trial: a wrong name, a
table that lacks some op of the space, a bad storage URL all end in one
``NasError`` line instead of a traceback half-way through a search.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna

from nas.devices import Device, get_device
from nas.errors import NasError
from nas.latency.table import LatencyTable
from nas.study.objectives import Objective, get_objective
from nas.study.study import HEARTBEAT_S, default_population, default_storage, load_or_create, make_sampler, open_storage
from nas.study.study import study_name as name_from_settings
from nas.space import SearchSpace, get_space, space_names

DEFAULT_TRIALS = 200  # the default (ensemble) proxy costs 0.15-0.36 s a trial here: 200 trials fit 3 minutes with margin


@dataclass
class SearchContext:
    space: SearchSpace
    device: Device
    table: LatencyTable
    proxy: Any  # nas.proxies.Proxy
    objective: Objective
    data: Any
    sampler: str
    population: int | None  # NSGA-II only
    seed: int | None
    trials: int
    timeout: float | None
    workers: int
    storage_url: str
    study_name: str
    out: Path
    heartbeat_s: int = HEARTBEAT_S
    args: dict[str, Any] = field(default_factory=dict)  # the create() keywords, to rebuild in a child process

    @property
    def proxy_seed(self) -> int:
        """One seed for every candidate: a zero-cost proxy then compares architectures on equal terms."""
        return self.seed or 0

    @classmethod
    def create(
        cls,
        *,
        space: str = "mobiledet",
        device: str = "cpu",
        table: str | Path | None = None,
        resolution: int | None = None,
        latency_target_ms: float | None = None,
        objective: str | None = None,
        beta: float | None = None,
        proxy: str = "default",
        trials: int | None = None,
        timeout: float | None = None,
        sampler: str = "nsga2",
        population: int | None = None,
        seed: int | None = 0,
        storage: str | None = None,
        study_name: str | None = None,
        workers: int = 1,
        data: str | None = None,
        out: str | Path | None = None,
        heartbeat: int = HEARTBEAT_S,
    ) -> "SearchContext":
        args = dict(locals())
        args.pop("cls")
        for key, value in (("--trials", trials), ("--workers", workers), ("--resolution", resolution), ("--heartbeat", heartbeat),
                           ("--population", population)):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise NasError(f"{key} must be a positive integer, got {value!r}")
        for key, value in (("--timeout", timeout), ("--latency-target", latency_target_ms)):
            if value is not None and not value > 0:
                raise NasError(f"{key} must be a positive number, got {value!r}")
        if sampler == "nsga2" and population is None:
            population = default_population(trials or DEFAULT_TRIALS)
        make_sampler(sampler, seed=seed, population=population)  # an unknown sampler or a misplaced --population fails here
        the_objective = get_objective(objective, target_ms=latency_target_ms, beta=beta)
        the_space = get_space(space, resolution=resolution)
        if the_space.is_fixed():
            raise NasError(f"space {the_space.name!r} has no choices to search; pick a space such as mobiledet")
        reference = the_space.definition.reference  # the report compares with it: fail now, not after the last trial
        if reference not in space_names() and not Path(reference).is_file():
            raise NasError(f"{the_space.definition.source}: reference: unknown search space {reference!r} (known: {', '.join(space_names())})")
        the_device, the_table = resolve_device(device, table)
        check_table(the_table, the_space, the_device)
        from nas.proxies import get_proxy

        the_proxy = get_proxy(proxy)
        loaded = None
        if data is not None or the_proxy.needs_data:
            from nas.proxies import load_data

            loaded = load_data(data or "synthetic")
        out_dir = Path(out) if out is not None else default_out(the_space.name, device, latency_target_ms)
        args["out"] = str(out_dir)
        context = cls(
            space=the_space,
            device=the_device,
            table=the_table,
            proxy=the_proxy,
            objective=the_objective,
            data=loaded,
            sampler=sampler,
            population=population,
            seed=seed,
            trials=trials or DEFAULT_TRIALS,
            timeout=timeout,
            workers=workers,
            storage_url=storage or default_storage(out_dir),
            study_name="",
            out=out_dir,
            heartbeat_s=heartbeat,
            args=args,
        )
        context.study_name = study_name or name_from_settings(context.settings())
        return context

    def settings(self) -> dict[str, Any]:
        """What the report and the study record: enough to rerun the same search."""
        return {
            "space": self.space.name,
            "resolution": self.space.resolution,
            "device": self.device.name,
            "table": str(self.table.path),
            "precision": self.device.precision,
            **self.objective.settings(),
            "proxy": self.proxy.name,
            "sampler": self.sampler,
            "population": self.population,
            "seed": self.seed,
            "trials": self.trials,
            "timeout_s": self.timeout,
            "workers": self.workers,
            "data": self.args.get("data"),
        }

    def references(self) -> list[Any]:
        """The space's reference network (MobileNetV2) at each width, priced and scored as this search's trials."""
        from nas.study.results import references

        return references(table=self.table, proxy=self.proxy, objective=self.objective, resolution=self.space.resolution,
                          num_classes=self.space.num_classes, seed=self.proxy_seed, data=self.data,
                          reference=self.space.definition.reference)

    def open_study(self) -> optuna.Study:
        storage = open_storage(self.storage_url, heartbeat_s=self.heartbeat_s)
        return load_or_create(storage, name=self.study_name, directions=self.objective.directions, settings=self.settings())


def resolve_device(device: str, table: str | Path | None = None) -> tuple[Device, LatencyTable]:
    """A registered device name, or a latency table file (a device described by its own header).

    ``table``: price with this table file instead of the device's own (e.g. one that
    ``nas-profile --device D --table FILE`` wrote for a plugin space); same precision.
    """
    if table is not None:
        the_device = get_device(device)
        loaded = LatencyTable.load(table)
        if loaded.precision != the_device.precision:
            raise NasError(f"--table {table}: a {loaded.precision} table, but device {the_device.name!r} is {the_device.precision}")
        return the_device, loaded
    if str(device).endswith((".yaml", ".yml")):
        table = LatencyTable.load(device)
        described = Device(name=table.device, description=str(table.header.get("device", {}).get("description", "")),
                           precision=table.precision, backend=table.source, table=str(Path(device).resolve()))
        return described, table
    the_device = get_device(device)
    return the_device, the_device.load_table()


def default_out(space: str, device: str, target_ms: float | None) -> Path:
    suffix = f"-t{target_ms:g}ms" if target_ms is not None else ""
    return Path("runs") / f"{space}-{device}{suffix}"


def space_keys(space: SearchSpace, precision: str) -> list[str]:
    """Table keys of every op any architecture of the space can contain."""
    from nas.latency.profile import op_key_of

    ops, heads = space.ops()
    return list(dict.fromkeys(op_key_of(op, precision) for op in [*ops, *heads]))


def check_table(table: LatencyTable, space: SearchSpace, device: Device) -> None:
    """Refuse to start a search the table cannot price (rather than failing at some trial)."""
    keys = space_keys(space, table.precision)
    missing = [key for key in keys if key not in table.entries]
    if missing:
        hint = f"nas-profile --device {device.name} --space {space.name} --resolution {space.resolution}"
        raise NasError(
            f"{table.path}: no entry for {len(missing)} of the {len(keys)} ops of space {space.name!r} at resolution "
            f"{space.resolution} (e.g. {missing[0]}); fill them with: {hint}"
        )
