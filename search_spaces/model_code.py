"""What `gas export` copies and says for a space's models: the one model implementation, and its words.

An exported file is the header docstring, the source of the space's model module (verbatim, minus
its docstring), the blueprint as constants and a constructor calling the model class. The space
names that module and class here, and the few phrases the header uses to say what the model is.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ModelCode"]


@dataclass(frozen=True)
class ModelCode:
    """The model code of a space, as `SearchSpace.build` and `gas export` use it.

    `module` is the dotted name of the module holding the model implementation; it must import only
    torch and the standard library, since an exported file is its source. `constructor` is the
    class in it that `constructor(**blueprint.model_kwargs())` builds. `title` follows "<name>: "
    on an exported file's first line (`short_title` when the name leaves no room for it); `about`
    is the header's sentence on the design, `naming` its note on module and parameter names, and
    `overrides` the keyword arguments the header's and constructor's examples pass.
    """

    module: str
    constructor: str
    title: str
    short_title: str
    about: str
    naming: str = ""
    overrides: str = "num_classes=10"

    @property
    def source_path(self) -> str:
        """The module's path relative to its import root, as the header names it."""
        return self.module.replace(".", "/") + ".py"
