"""Search settings as typed by a user → checked, loaded objects (space, table, proxy, objective).

Every check that can fail runs here, before the first trial: a wrong name, a
table that lacks some op of the space, a bad storage URL all end in one
``NasError`` line instead of a traceback half-way through a search.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from nas.devices import Device, get_device
from nas.errors import NasError
from nas.latency.table import LatencyTable
from nas.study.objectives import Objective, get_objective
from nas.study.settings import SearchSettings, default_out, printable
from nas.study.study import default_population, default_storage, load_or_create, make_sampler, mask_url, open_storage
from nas.study.study import study_name as name_from_settings
from nas.space import SearchSpace, get_space, space_names


@dataclass
class SearchContext:
    """The loaded objects a ``SearchSettings`` names, and the values derived from them (study name, out, storage)."""

    settings: SearchSettings  # as given, with ``out`` filled in
    space: SearchSpace
    device: Device
    table: LatencyTable
    proxy: Any  # nas.proxies.Proxy
    objective: Objective
    data: Any
    population: int | None  # NSGA-II only: the given one or default_population(trials)
    storage_url: str
    study_name: str
    out: Path

    @property
    def proxy_seed(self) -> int:
        """One seed for every candidate: a zero-cost proxy then compares architectures on equal terms."""
        return self.settings.seed or 0

    @classmethod
    def create(cls, settings: SearchSettings | None = None, **options: Any) -> "SearchContext":
        """Load what ``settings`` (or ``SearchSettings(**options)``) names; every check that can fail runs here."""
        if settings is None:
            settings = SearchSettings.from_options(options)
        population = settings.population
        if settings.sampler == "nsga2" and population is None:
            population = default_population(settings.trials)
        make_sampler(
            settings.sampler, seed=settings.seed, population=population
        )  # an unknown sampler or a misplaced --population fails here
        the_objective = get_objective(settings.objective, target_ms=settings.latency_target_ms, beta=settings.beta)
        the_space = get_space(settings.space, resolution=settings.resolution)
        if the_space.is_fixed():
            raise NasError(f"space {the_space.name!r} has no choices to search; pick a space such as mobiledet")
        reference = the_space.definition.reference  # the report compares with it: fail now, not after the last trial
        if reference not in space_names() and not Path(reference).is_file():
            raise NasError(
                f"{the_space.definition.source}: reference: unknown search space {reference!r} (known: {', '.join(space_names())})"
            )
        the_device, the_table = resolve_device(settings.device, settings.table)
        check_table(the_table, the_space, the_device)
        from nas.proxies import get_proxy

        # No --proxy: nas-search / nas.search with --data chose the supernet before this (nas.training.search_supernet)
        the_proxy = get_proxy(settings.proxy or "default", supernet=settings.supernet)
        loaded = None
        if settings.data is not None or the_proxy.needs_data:
            from nas.proxies import load_data

            loaded = load_data(settings.data or "synthetic")
        the_proxy.prepare(space=the_space, data=loaded)  # e.g. a supernet trained for another space: one line now
        out_dir = (
            Path(settings.out) if settings.out is not None else default_out(the_space.name, the_device.name, settings.latency_target_ms)
        )
        settings = settings.replace(out=str(out_dir))
        context = cls(
            settings=settings,
            space=the_space,
            device=the_device,
            table=the_table,
            proxy=the_proxy,
            objective=the_objective,
            data=loaded,
            population=population,
            storage_url=settings.storage or default_storage(out_dir),
            study_name="",
            out=out_dir,
        )
        context.study_name = settings.study_name or name_from_settings(context.recorded())
        check_out(context)
        return context

    def recorded(self) -> dict[str, Any]:
        """What the report and the study record: enough to rerun the same search."""
        settings = self.settings
        return {
            "space": self.space.name,
            "resolution": self.space.resolution,
            "device": self.device.name,
            "table": str(self.table.path),
            "precision": self.device.precision,
            **self.objective.settings(),
            "proxy": self.proxy.name,
            "finalists": settings.finalists if hasattr(self.proxy, "rescore") else None,
            "sampler": settings.sampler,
            "population": self.population,
            "seed": settings.seed,
            "trials": settings.trials,
            "timeout_s": settings.timeout,
            "workers": settings.workers,
            "data": settings.data,
        }

    def signal(self) -> str:
        """One line for report.md and stdout: which signal ranked the candidates, and what it was measured to be worth."""
        proxy = self.proxy
        where = f" from {proxy.folder}" if getattr(proxy, "folder", None) is not None else ""
        measured = proxy.evidence or "no measured rank correlation is recorded for it (see experiments/results/proxy_correlation.md)"
        return f"Candidates ranked by proxy `{proxy.name}`{where}: {proxy.description}. Measured: {measured}."

    def references(self) -> list[Any]:
        """The space's reference network (MobileNetV2) at each width, priced and scored as this search's trials."""
        from nas.records import references

        return references(
            table=self.table,
            proxy=self.proxy,
            objective=self.objective,
            resolution=self.space.resolution,
            num_classes=self.space.num_classes,
            seed=self.proxy_seed,
            data=self.data,
            reference=self.space.definition.reference,
        )

    def open_study(self) -> optuna.Study:
        storage = open_storage(self.storage_url, heartbeat_s=self.settings.heartbeat)
        names = ["proxy", "latency_ms"] if len(self.objective.directions) == 2 else [self.objective.name]
        return load_or_create(
            storage, name=self.study_name, directions=self.objective.directions, settings=self.recorded(), metric_names=names
        )

    def identity(self) -> dict[str, str]:
        """Which search an output folder belongs to (``OUT/search.json``): its study, on its storage (masked)."""
        return {"study_name": self.study_name, "storage": mask_url(self.storage_url)}

    def claim_out(self) -> None:
        """Mark ``out`` as this search's (before its first trial), so a different search refuses to overwrite it."""
        from nas.io import atomic_write_text

        self.out.mkdir(parents=True, exist_ok=True)
        path = self.out / OUT_MARKER
        if not path.exists():
            atomic_write_text(path, json.dumps(self.identity(), indent=1) + "\n")


OUT_MARKER = "search.json"


def check_out(context: SearchContext, *, storage: bool = False) -> None:
    """A different search must not overwrite the report, CSVs and best/ of the one already in ``out``.

    ``create`` compares the study name (before anything is opened: the default storage is in ``out``);
    ``run_trials`` compares the storage too, once it opened, so a bad ``--storage`` is reported as such first.
    """
    path = context.out / OUT_MARKER
    if not path.is_file():
        return
    try:
        held = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise NasError(f"{path}: unreadable; this folder belongs to an earlier search: pass another --out") from None
    keys = ("study_name", "storage") if storage else ("study_name",)
    if any(held.get(key) != context.identity()[key] for key in keys):
        raise NasError(
            f"--out {printable(str(context.out))} holds the search {printable(str(held.get('study_name')))!r} "
            f"(storage {printable(str(held.get('storage')))}), not {printable(context.study_name)!r}: pass another --out, "
            "or the same settings to resume it"
        )


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
        own = LatencyTable.load(device)
        described = Device(
            name=own.device,
            description=str(own.header.get("device", {}).get("description", "")),
            precision=own.precision,
            backend=own.source,
            table=str(Path(device).resolve()),
        )
        return described, own
    the_device = get_device(device)
    return the_device, the_device.load_table()


def check_table(table: LatencyTable, space: SearchSpace, device: Device) -> None:
    """Refuse to start a search the table cannot price (rather than failing at some trial)."""
    from nas.latency.backends.analytic import fill_modelled
    from nas.latency.profile import op_key_of, space_jobs

    ops, heads = space.ops()
    fill_modelled(table, space_jobs(ops, heads, table.precision))  # modelled devices price any op on demand, in memory
    keys = list(dict.fromkeys([op_key_of(op, table.precision) for op in ops] + [op_key_of(head, table.precision) for head in heads]))
    missing = [key for key in keys if key not in table.entries]
    if missing:
        hint = f"nas-profile --device {device.name} --space {space.name} --resolution {space.resolution}"
        raise NasError(
            f"{table.path}: no entry for {len(missing)} of the {len(keys)} ops of space {space.name!r} at resolution "
            f"{space.resolution} (e.g. {missing[0]}); fill them with: {hint}"
        )
