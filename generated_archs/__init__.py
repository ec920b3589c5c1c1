"""Models exported by `gas export`, one module per model, registered with timm on import.

Every module `generated_archs/<name>.py` defines a constructor `<name>(pretrained=False, **kwargs)`
and registers it with timm's `register_model` when timm is installed. Importing this package
imports them all, so

    import generated_archs, timm
    model = timm.create_model("turbovit_ref")

works, and `generated_archs.list_models()` names what is here. The modules need only torch; use
one without timm through `from generated_archs.<name> import <name>`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from types import ModuleType

__all__ = ["get_model", "list_models"]

_MODULES: dict[str, ModuleType] = {}


def _import_all() -> None:
    """Import every public module of the package (each registers its model with timm)."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        if not info.name.startswith("_") and not info.ispkg:
            _MODULES[info.name] = importlib.import_module(f"{__name__}.{info.name}")


def list_models() -> list[str]:
    """Names of the exported models in this package, sorted (each is also a timm model name)."""
    return sorted(name for name, module in _MODULES.items() if callable(getattr(module, name, None)))


def get_model(name: str) -> Callable[..., object]:
    """The constructor of exported model `name`; KeyError listing the known names otherwise."""
    if name not in list_models():
        raise KeyError(f"no exported model {name!r}; exported models: {', '.join(list_models()) or 'none'}")
    return getattr(_MODULES[name], name)


_import_all()
