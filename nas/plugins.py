"""Name → implementation registries for blocks, spaces, devices and proxies.

Built-ins and third-party plugins go through one code path: each registry maps a
name to a ``"module:attribute"`` reference, read from the built-in list and from
the Python entry-point group (``nas.blocks``, ``nas.search_spaces``,
``nas.devices``, ``nas.proxies``). References are imported only when first
used, checked against the registry's base type, and a broken plugin produces a
message naming the plugin and its entry point without breaking the others.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Generic, Iterator, TypeVar

from nas.errors import NasError

T = TypeVar("T")


class PluginError(NasError):
    """A registered name whose implementation cannot be loaded or is of the wrong kind."""


@dataclass(frozen=True)
class Registration:
    name: str
    reference: str  # "package.module:attribute", or "file:/path" for a data file (built-in spaces)
    origin: str  # "built-in" or "plugin <distribution> (entry point <group>)"


class Registry(Generic[T]):
    """Lazily loaded name → object map for one kind of extension."""

    def __init__(self, *, kind: str, group: str, builtins: dict[str, str], check: Callable[[Any], bool], expected: str) -> None:
        self.kind, self.group = kind, group
        self._builtins = builtins
        self._check, self._expected = check, expected
        self._registrations: dict[str, Registration] | None = None
        self._loaded: dict[str, T] = {}

    def _scan(self) -> dict[str, Registration]:
        if self._registrations is None:
            found = {name: Registration(name, ref, "built-in") for name, ref in self._builtins.items()}
            for entry in metadata.entry_points(group=self.group):
                dist = entry.dist.name if entry.dist is not None else "unknown distribution"
                found[entry.name] = Registration(entry.name, entry.value, f"plugin {dist} (entry point {self.group})")
            self._registrations = found
        return self._registrations

    def register(self, name: str, obj: T, *, origin: str = "registered at run time") -> None:
        """Add an object directly (tests, notebooks); it is checked like a plugin."""
        if not self._check(obj):
            raise PluginError(f"{self.kind} {name!r} ({origin}) is not {self._expected}")
        self._scan()[name] = Registration(name, f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', name)}", origin)
        self._loaded[name] = obj

    def names(self) -> list[str]:
        return sorted(self._scan())

    def registrations(self) -> list[Registration]:
        return [self._scan()[name] for name in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._scan()

    def get(self, name: str) -> T:
        if name in self._loaded:
            return self._loaded[name]
        registration = self._scan().get(name)
        if registration is None:
            raise PluginError(f"unknown {self.kind} {name!r} (known: {', '.join(self.names())})")
        obj = self._load(registration)
        self._loaded[name] = obj
        return obj

    def _load(self, registration: Registration) -> T:
        if registration.reference.startswith("file:"):
            return Path(registration.reference[len("file:") :])  # type: ignore[return-value]
        module_name, _, attribute = registration.reference.partition(":")
        where = f"{self.kind} {registration.name!r} from {registration.origin} -> {registration.reference}"
        try:
            obj: Any = importlib.import_module(module_name)
            for part in attribute.split(".") if attribute else []:
                obj = getattr(obj, part)
        except Exception as error:  # a broken plugin must not take the others down
            raise PluginError(f"cannot load {where}: {type(error).__name__}: {error}") from None
        if not self._check(obj):
            raise PluginError(f"{where} is not {self._expected}")
        return obj

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


def is_subclass_of(base: type) -> Callable[[Any], bool]:
    return lambda obj: isinstance(obj, type) and issubclass(obj, base)
