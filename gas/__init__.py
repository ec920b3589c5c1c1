"""gas: generative architecture search for fast hierarchical vision transformers.

The public API is re-exported here deliberately; everything else is internal. Names resolve on
first use, so `import gas` does not pay for Optuna, Ray or torch until they are needed. (The
packages below gas never import it: the kernel, `search_spaces` and `evaluators` are imported by
gas, not the other way round, so the order of imports does not matter.)
"""

from importlib import import_module
from typing import Any

_LAZY = {
    "Blueprint": "gas_kernel.blueprint",
    "Cost": "gas_kernel.cost",
    "SearchSpace": "search_spaces",
    "get_space": "search_spaces",
    "list_presets": "search_spaces",
    "list_spaces": "search_spaces",
    "register_space": "search_spaces",
    "SearchResult": "gas.orchestrate",
    "resume": "gas.orchestrate",
    "search": "gas.orchestrate",
    "export_best": "gas.export",
    "export_blueprint": "gas.export",
    "list_proxies": "evaluators",
    "measure_latency": "evaluators",
    "proxy_score": "evaluators",
}

__all__ = [
    "Blueprint",
    "Cost",
    "SearchResult",
    "SearchSpace",
    "export_best",
    "export_blueprint",
    "get_space",
    "list_presets",
    "list_proxies",
    "list_spaces",
    "measure_latency",
    "proxy_score",
    "register_space",
    "resume",
    "search",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gas' has no attribute {name!r}")


def __dir__() -> list[str]:
    return list(__all__)
