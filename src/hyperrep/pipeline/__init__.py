"""Whole experiments as data: zoo -> hyper-representations -> probes -> report."""

from typing import TYPE_CHECKING

from hyperrep._lazy import lazy_package
from hyperrep.pipeline._recipes import RECIPES, Recipe, RunRecipe, register_recipe

# the pipeline itself loads torch, pandas and scikit-learn: on first use
__getattr__, __dir__, __all__ = lazy_package(__name__, __file__)

if TYPE_CHECKING:
    from hyperrep.pipeline._demo import Lead, representation_leads, write_user_checkpoint
    from hyperrep.pipeline._evaluate import evaluate_zoo
    from hyperrep.pipeline._reproduce import reproduce, run_config
    from hyperrep.pipeline._symmetry_check import SymmetryCheck, run_symmetry_check
    from hyperrep.pipeline._symmetry_plot import plot_symmetry_check
