"""Whole experiments as data: zoo -> hyper-representations -> probes -> report."""

from hyperrep.pipeline._recipes import RECIPES, Recipe, RunRecipe, register_recipe
from hyperrep.pipeline._reproduce import reproduce, run_config

__all__ = ["RECIPES", "Recipe", "RunRecipe", "register_recipe", "reproduce", "run_config"]
