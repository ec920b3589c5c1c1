"""The exported model file: header, the one model implementation, blueprint constants, constructor.

The file reads top-down like a model file in timm or Hiera: the header docstring, imports, helpers,
attention, block, model (the source of the space's model module, `space.model_code.module`, read
with `inspect` so that there is exactly one implementation), then the blueprint as a dict literal
with one key per line, a timm-style constructor `<name>(pretrained=False, **kwargs)` calling the
space's model class, and the timm registration, guarded so that the file needs nothing but torch.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
from types import ModuleType
from typing import Any

from gas.codegen.header import render_header
from gas.codegen.record import ExportRecord
from search_spaces import ModelCode, SearchSpace

__all__ = ["emitted_names", "model_source", "render_model_file"]

# timm.create_model passes these to every entrypoint; the model itself does not take them
TIMM_ONLY_KWARGS = ("pretrained_cfg", "pretrained_cfg_overlay", "cache_dir")
_TAIL_NAMES = frozenset({"ARCH_ID", "MODEL_ARGS", "_register_with_timm"})


def render_model_file(record: ExportRecord) -> str:
    """The complete source of `<name>.py` for the record's blueprint."""
    code = record.space.model_code
    parts = [
        render_header(record) + "\n" + model_source(record.space),
        _section("blueprint", _constants(record)),
        _section("constructor", _constructor(record.name, record.blueprint.arch_id, code)),
        _section("timm registration (optional)", _registration(record.name)),
    ]
    return "\n\n\n".join(part.strip("\n") for part in parts) + "\n"


def model_source(space: SearchSpace) -> str:
    """The source of the space's model module without its docstring (the header replaces it)."""
    return _source_without_docstring(importlib.import_module(space.model_code.module))


@functools.lru_cache(maxsize=8)
def _source_without_docstring(module: ModuleType) -> str:
    source = inspect.getsource(module)
    tree = ast.parse(source)
    if tree.body and isinstance(tree.body[0], ast.Expr) and isinstance(tree.body[0].value, ast.Constant):
        source = "".join(source.splitlines(keepends=True)[tree.body[0].end_lineno :])
    return source.strip("\n") + "\n"


def emitted_names(space: SearchSpace) -> frozenset[str]:
    """Top-level names of a module exported from `space`, which a model's name must not shadow."""
    return _top_level_names(importlib.import_module(space.model_code.module))


@functools.lru_cache(maxsize=8)
def _top_level_names(module: ModuleType) -> frozenset[str]:
    names = set(_TAIL_NAMES)
    for node in ast.parse(_source_without_docstring(module)).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(target.id for target in targets if isinstance(target, ast.Name))
    return frozenset(names)


def _section(title: str, code: str) -> str:
    """`code` under a `# ---- title -----` rule, like the sections of timm's model files."""
    return f"# ---- {title} " + "-" * (96 - len(title)) + "\n" + code


def _constants(record: ExportRecord) -> str:
    lines = [f'ARCH_ID = "{record.blueprint.arch_id}"', "MODEL_ARGS = {"]
    for key, value in record.blueprint.model_kwargs().items():
        lines.append(f'    "{key}": {_literal(value)},')
    return "\n".join(lines + ["}"])


def _literal(value: Any) -> str:
    """A Python literal with fixed formatting: repr of scalars, tuples with their commas."""
    if isinstance(value, (tuple, list)):
        items = ", ".join(_literal(item) for item in value)
        return f"({items},)" if len(value) == 1 else f"({items})"
    if isinstance(value, (bool, int, float, str)):
        return repr(value)
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as a blueprint constant")


def _constructor(name: str, arch_id: str, code: ModelCode) -> str:
    timm_only = ", ".join(f'"{key}"' for key in TIMM_ONLY_KWARGS)
    return f'''def {name}(pretrained: bool = False, **kwargs) -> {code.constructor}:
    """The exported model, arch {arch_id}; keyword arguments override MODEL_ARGS.

    For example `{code.overrides}`. There are no pretrained weights: train the
    model, or load a state_dict with `model.load_state_dict(torch.load(path))`.
    """
    if pretrained:
        raise ValueError("there are no pretrained weights; load a state_dict instead")
    # timm.create_model passes its own arguments along; they are not model arguments
    for key in ({timm_only}):
        kwargs.pop(key, None)
    return {code.constructor}(**{{**MODEL_ARGS, **kwargs}})'''


def _registration(name: str) -> str:
    return f'''def _register_with_timm() -> None:
    """Register the constructor with timm, so `timm.create_model` builds it by name (optional)."""
    try:
        from timm.models import register_model
    except ImportError:  # the model itself needs only torch
        return
    register_model({name})


_register_with_timm()'''
