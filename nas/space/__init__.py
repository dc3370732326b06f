"""Search spaces: YAML files in ``search_spaces/`` and plugins of the ``nas.search_spaces`` group."""

from __future__ import annotations

from pathlib import Path

from nas.errors import SpecError
from nas.plugins import PluginError, Registry
from nas.resources import shipped_dir
from nas.space.schema import SpaceDefinition, load_space_file, parse_space
from nas.space.space import HeadOp, Op, SearchSpace

SPACES_DIR = shipped_dir("search_spaces")


def _is_space_source(obj: object) -> bool:
    return isinstance(obj, (SearchSpace, SpaceDefinition, str, Path)) or callable(obj)


SPACES: Registry = Registry(
    kind="search space",
    group="nas.search_spaces",
    builtins={path.stem: f"file:{path}" for path in sorted(SPACES_DIR.glob("*.yaml"))},
    check=_is_space_source,
    expected="a SearchSpace, a space definition, a path to a space YAML, or a function returning one",
)


def _to_space(obj: object) -> SearchSpace:
    if callable(obj) and not isinstance(obj, (SearchSpace, SpaceDefinition)):
        obj = obj()
    if isinstance(obj, SearchSpace):
        return obj
    if isinstance(obj, SpaceDefinition):
        return SearchSpace(definition=obj)
    if isinstance(obj, (str, Path)):
        return SearchSpace(definition=load_space_file(obj))
    raise SpecError(f"a space plugin returned {type(obj).__name__}, not a SearchSpace")


def get_space(
    name_or_path: str | Path, *, width: float | None = None, resolution: int | None = None, num_classes: int | None = None
) -> SearchSpace:
    """A registered space by name, or a space YAML by path, with α / resolution applied."""
    text = str(name_or_path)
    if text.endswith((".yaml", ".yml")) or "/" in text:
        space = SearchSpace(definition=load_space_file(text))
    else:
        try:
            space = _to_space(SPACES.get(text))
        except PluginError as error:
            raise SpecError(str(error), key="--space") from None
    if width is None and resolution is None and num_classes is None:
        return space
    return space.scaled(width=width, resolution=resolution, num_classes=num_classes)


def space_names() -> list[str]:
    return SPACES.names()


__all__ = ["SPACES", "HeadOp", "Op", "SearchSpace", "SpaceDefinition", "get_space", "parse_space", "space_names"]
