"""Whole experiments as data: zoo -> hyper-representations -> probes -> report."""

from typing import TYPE_CHECKING

from hyperrep._lazy import lazy_exports
from hyperrep.pipeline._recipes import RECIPES, Recipe, RunRecipe, register_recipe

# the pipeline itself loads torch, pandas and scikit-learn: on first use
__getattr__, __dir__ = lazy_exports(__name__, {"reproduce": "._reproduce",
                                               "run_config": "._reproduce"})  # fmt: skip
if TYPE_CHECKING:
    from hyperrep.pipeline._reproduce import reproduce, run_config

__all__ = ["RECIPES", "Recipe", "RunRecipe", "register_recipe", "reproduce", "run_config"]
