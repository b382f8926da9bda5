"""Weight space: neuron tokens, permutation symmetry, augmentations, baseline features."""

from hyperrep.weights._augment import Compose, GaussianNoise, PermuteNeurons, RandomErasing
from hyperrep.weights._permutation import (
    PermutationPool,
    canonical_permutations,
    canonicalize,
    hidden_groups,
    permutation_index,
    permute,
    random_permutations,
)
from hyperrep.weights._tokens import LayerTokens, TokenLayout, token_layout

__all__ = [
    "Compose",
    "GaussianNoise",
    "LayerTokens",
    "PermutationPool",
    "PermuteNeurons",
    "RandomErasing",
    "TokenLayout",
    "canonical_permutations",
    "canonicalize",
    "hidden_groups",
    "permutation_index",
    "permute",
    "random_permutations",
    "token_layout",
]
