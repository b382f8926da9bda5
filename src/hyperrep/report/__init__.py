"""Reports: plots and tables a researcher reads."""

from hyperrep.report._probes import plot_accuracy_over_epochs, plot_predictions, plot_umaps
from hyperrep.report._symmetry import plot_symmetry_check
from hyperrep.report._write import markdown_table, write_probe_report

__all__ = [
    "markdown_table",
    "plot_accuracy_over_epochs",
    "plot_predictions",
    "plot_symmetry_check",
    "plot_umaps",
    "write_probe_report",
]
