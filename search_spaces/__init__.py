"""Registry of search spaces: `get_space("hiera")`, `list_spaces()`, `@register_space`, presets.

Spaces register themselves when their subpackage is imported; the built-in ones are imported
lazily on first lookup so that `import gas` stays cheap. Everything the search knows about a space
comes through its `SearchSpace` interface, reached by name here; nothing outside this package
names a particular space.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

from gas_kernel.blueprint import Blueprint
from gas_kernel.cost import Cost
from search_spaces.base import RandomTrial, SearchSpace
from search_spaces.model_code import ModelCode

__all__ = [
    "DEFAULT_SPACE",
    "Cost",
    "ModelCode",
    "RandomTrial",
    "SearchSpace",
    "find_space",
    "get_space",
    "list_presets",
    "list_spaces",
    "register_space",
    "space_option_names",
]

DEFAULT_SPACE = "hiera"  # what `gas search`, `gas cost` and exports use when no space is named
_BUILTIN = {"hiera": "search_spaces.hiera"}
_REGISTRY: dict[str, Callable[..., SearchSpace]] = {}


def register_space(name: str) -> Callable[[type[SearchSpace]], type[SearchSpace]]:
    """Class decorator: make the space constructible as `get_space(name, **options)`.

    TypeError when the class does not say its blueprint type and model code, which the search
    and exports read from every space.
    """

    def decorate(cls: type[SearchSpace]) -> type[SearchSpace]:
        blueprint_type = getattr(cls, "blueprint_type", None)
        is_blueprint = isinstance(blueprint_type, type) and issubclass(blueprint_type, Blueprint)
        if not is_blueprint or blueprint_type is Blueprint:
            raise TypeError(f"space {name!r}: set blueprint_type to its subclass of gas_kernel.blueprint.Blueprint")
        if not isinstance(getattr(cls, "model_code", None), ModelCode):
            raise TypeError(f"space {name!r}: set model_code to a search_spaces.ModelCode naming its model class")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def list_spaces() -> list[str]:
    return sorted(set(_REGISTRY) | set(_BUILTIN))


def get_space(name: str, **options: Any) -> SearchSpace:
    """A space instance; options (img_size, num_classes, ...) are the space's constructor's."""
    if name not in _REGISTRY and name in _BUILTIN:
        importlib.import_module(_BUILTIN[name])
    if name not in _REGISTRY:
        raise KeyError(f"unknown search space {name!r}; known spaces: {', '.join(list_spaces())}")
    return _REGISTRY[name](**options)


def space_option_names(name: str) -> set[str]:
    """The options `get_space(name, ...)` accepts (its constructor's parameters)."""
    get_space(name)  # imports a built-in space, KeyError for an unknown one
    return set(inspect.signature(_REGISTRY[name]).parameters)


def list_presets() -> dict[str, str]:
    """Every space's presets: preset name -> space name (the default space wins a shared name)."""
    owners: dict[str, str] = {}
    for space in [DEFAULT_SPACE, *(s for s in list_spaces() if s != DEFAULT_SPACE)]:
        for preset in get_space(space).preset_names():
            owners.setdefault(preset, space)
    return owners


def find_space(blueprint: Blueprint) -> str:
    """The name of the space whose blueprint type `blueprint` is; KeyError if not exactly one."""
    for module in _BUILTIN.values():
        importlib.import_module(module)
    names = sorted(name for name, cls in _REGISTRY.items() if type(blueprint) is getattr(cls, "blueprint_type", None))
    if len(names) != 1:
        found = f"spaces {', '.join(names)} share" if names else "no registered space has"
        raise KeyError(f"{found} the blueprint type {type(blueprint).__name__}; name the space")
    return names[0]
