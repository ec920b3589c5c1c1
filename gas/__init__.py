"""gas: generative architecture search for fast hierarchical vision transformers.

The public API is re-exported here deliberately; everything else is internal.
"""

from gas.blueprint import Blueprint, StageSpec
from search_spaces import Cost, SearchSpace, get_space, list_spaces, register_space
from gas.export import export_best, export_blueprint
from gas.search import SearchResult, resume, search

__all__ = [
    "Blueprint",
    "Cost",
    "SearchResult",
    "SearchSpace",
    "StageSpec",
    "export_best",
    "export_blueprint",
    "get_space",
    "list_proxies",
    "list_spaces",
    "measure_latency",
    "proxy_score",
    "register_space",
    "resume",
    "search",
]
__version__ = "0.1.0"

_LAZY = {"list_proxies", "measure_latency", "proxy_score"}  # from `evaluators`, imported on first use


def __getattr__(name: str):
    """Lazy re-exports from `evaluators`, so `import gas` does not load the evaluator stack."""
    if name in _LAZY:
        import evaluators

        return getattr(evaluators, name)
    raise AttributeError(f"module 'gas' has no attribute {name!r}")
