"""gas: generative architecture search for fast hierarchical vision transformers.

The public API is re-exported here deliberately; everything else is internal.
"""

from gas.blueprint import Blueprint, StageSpec
from search_spaces import Cost, SearchSpace, get_space, list_spaces, register_space

__all__ = [
    "Blueprint",
    "Cost",
    "SearchSpace",
    "StageSpec",
    "get_space",
    "list_spaces",
    "register_space",
]
__version__ = "0.1.0"
