"""Code generation for `gas export`: names, Pareto picks, export records and model files.

Each concept has its own module; this package re-exports what `gas.export` uses.
"""

from gas.codegen.model_file import emitted_names, model_source, render_model_file
from gas.codegen.names import check_name, sanitize_name
from gas.codegen.pick import RULES, pick_entry
from gas.codegen.record import ExportRecord, record_space

__all__ = [
    "RULES",
    "ExportRecord",
    "check_name",
    "emitted_names",
    "model_source",
    "pick_entry",
    "record_space",
    "render_model_file",
    "sanitize_name",
]
