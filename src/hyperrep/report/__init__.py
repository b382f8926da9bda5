"""Reports: plots and tables a researcher reads, rendered from saved results."""

from hyperrep.report._probes import (
    plot_accuracy_over_epochs,
    plot_accuracy_over_mean_weight,
    plot_embeddings,
    plot_predictions,
    plot_zoo_structure,
)
from hyperrep.report._pyplot import pyplot
from hyperrep.report._sampling import plot_finetuning
from hyperrep.report._write import markdown_table, render_report

__all__ = [
    "markdown_table",
    "plot_accuracy_over_epochs",
    "plot_accuracy_over_mean_weight",
    "plot_embeddings",
    "plot_finetuning",
    "plot_predictions",
    "pyplot",
    "plot_zoo_structure",
    "render_report",
]
