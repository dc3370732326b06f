"""Turn what a user types (space name, YAML path, compact string) into an architecture."""

from __future__ import annotations

from pathlib import Path

from nas.arch import ArchSpec, _load_yaml
from nas.errors import SpecError
from nas.space import SearchSpace, get_space, space_names
from nas.space.schema import parse_space


def load_target(
    target: str,
    *,
    width: float | None = None,
    resolution: int | None = None,
    num_classes: int | None = None,
    sample: int | None = None,
) -> tuple[ArchSpec, SearchSpace | None]:
    """The architecture named by ``target`` (and its space, when it came from one).

    A space with choices needs ``sample`` (a seed) to pick one architecture.
    """
    parsed = _parse(target)
    if isinstance(parsed, SearchSpace):
        space = parsed.scaled(width=width, resolution=resolution, num_classes=num_classes)
        if space.is_fixed():
            return space.arch(), space
        if sample is None:
            raise SpecError(
                f"space {space.name!r} has {len(space.parameters)} choices; pass --sample SEED to draw one architecture", key="--sample"
            )
        return space.random(sample).with_name(f"{space.name}-sample{sample}"), space
    from dataclasses import replace

    if width is not None and width != 1.0:
        raise SpecError("--width applies to spaces, not to a fixed architecture", key="--width")
    return replace(parsed, resolution=resolution or parsed.resolution, num_classes=num_classes or parsed.num_classes), None


def _parse(target: str) -> ArchSpec | SearchSpace:
    """A compact arch string, an arch or space YAML file, or a space name."""
    if "," in target and target.lstrip().startswith("r"):
        return ArchSpec.from_string(target)
    if target.endswith((".yaml", ".yml")) or Path(target).is_file():
        path = Path(target)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise SpecError(f"cannot read file: {error.strerror}", source=str(path)) from None
        except UnicodeDecodeError:
            raise SpecError("not a YAML text file (binary, not UTF-8)", source=str(path)) from None
        data = _load_yaml(text, str(path))
        if isinstance(data, dict) and "stages" in data:
            return SearchSpace(definition=parse_space(data, source=str(path)))
        return ArchSpec.from_dict(data, source=str(path))
    if target in space_names():
        return get_space(target)
    raise SpecError(
        f"not a space name ({', '.join(space_names())}), an existing YAML file, or an arch string 'r224_n1000,conv_...,head_...'",
        key=repr(target),
    )
