"""Reports: plots and tables a researcher reads."""

from hyperrep.report._symmetry import plot_symmetry_check

__all__ = ["plot_symmetry_check"]
