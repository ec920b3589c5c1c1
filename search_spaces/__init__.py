"""Registry of search spaces: `get_space("hiera")`, `list_spaces()`, `@register_space`.

Spaces register themselves when their subpackage is imported; the built-in ones are imported
lazily on first lookup so that `import gas` stays cheap.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from gas_kernel.cost import Cost
from search_spaces.base import RandomTrial, SearchSpace

__all__ = ["Cost", "RandomTrial", "SearchSpace", "get_space", "list_spaces", "register_space"]

_BUILTIN = {"hiera": "search_spaces.hiera"}
_REGISTRY: dict[str, Callable[..., SearchSpace]] = {}


def register_space(name: str) -> Callable[[type[SearchSpace]], type[SearchSpace]]:
    """Class decorator: make the space constructible as `get_space(name, **options)`."""

    def decorate(cls: type[SearchSpace]) -> type[SearchSpace]:
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
