"""Weight space: neuron tokens, permutation symmetry, augmentations, baseline features."""

from hyperrep.weights._augment import Compose, GaussianNoise, PermuteNeurons, RandomErasing
from hyperrep.weights._features import (
    raw_features,
    weight_statistic_names,
    weight_statistics,
)
from hyperrep.weights._featurizers import (
    FEATURIZERS,
    Featurizer,
    featurizer,
    list_featurizers,
    register_featurizer,
)
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
    "FEATURIZERS",
    "Featurizer",
    "featurizer",
    "list_featurizers",
    "register_featurizer",
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
    "raw_features",
    "token_layout",
    "weight_statistic_names",
    "weight_statistics",
]
