"""Whole experiments as data: zoo -> hyper-representations -> probes -> report."""

from typing import TYPE_CHECKING

from hyperrep._lazy import lazy_exports
from hyperrep.pipeline._recipes import RECIPES, Recipe, RunRecipe, register_recipe

# the pipeline itself loads torch, pandas and scikit-learn: on first use
__getattr__, __dir__ = lazy_exports(__name__, {
    "reproduce": "._reproduce", "run_config": "._reproduce", "evaluate_zoo": "._evaluate",
    "SymmetryCheck": "._symmetry_check", "run_symmetry_check": "._symmetry_check",
})  # fmt: skip
if TYPE_CHECKING:
    from hyperrep.pipeline._evaluate import evaluate_zoo
    from hyperrep.pipeline._reproduce import reproduce, run_config
    from hyperrep.pipeline._symmetry_check import SymmetryCheck, run_symmetry_check

__all__ = [
    "RECIPES",
    "Recipe",
    "RunRecipe",
    "SymmetryCheck",
    "evaluate_zoo",
    "register_recipe",
    "reproduce",
    "run_config",
    "run_symmetry_check",
]
