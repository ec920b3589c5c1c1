"""The `hiera` search space: hierarchical ViTs from mask unit attention and Q-pooling."""

from search_spaces.hiera.blueprint import HieraBlueprint, StageSpec
from search_spaces.hiera.cost import hiera_cost
from search_spaces.hiera.model import Hiera
from search_spaces.hiera.space import HieraSpace

__all__ = ["Hiera", "HieraBlueprint", "HieraSpace", "StageSpec", "hiera_cost"]
