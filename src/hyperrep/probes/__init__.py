"""Model characteristic prediction: linear probes on weights, statistics and latents."""

from hyperrep.probes._bundle import (
    LinearProbe,
    ProbeBundle,
    TreeProbe,
    load_bundle,
    predict_checkpoints,
)
from hyperrep.probes._evaluate import (
    PROBE_FAMILIES,
    CheckpointFeatures,
    Prediction,
    evaluate_probes,
    probe_families,
    results_table,
    tau_table,
)
from hyperrep.probes._gbm import GbmProbe, fit_gbm, fit_gbms
from hyperrep.probes._linear import RidgeProbe, SoftmaxProbe, fit_ridge, fit_ridges, fit_softmax
from hyperrep.probes._results import (
    RESULTS_FILE,
    ProbeResults,
    probe_zoo,
    split_warning,
    umap_embeddings,
)
from hyperrep.probes._sources import run_label, run_labels, zoo_features
from hyperrep.probes._structure import (
    ZooStructure,
    is_saved_structure,
    load_structure,
    save_structure,
    settings_differ,
    structure_table,
    weight_space_structure,
)
from hyperrep.probes._tasks import Task, tasks_for

__all__ = [
    "RESULTS_FILE",
    "PROBE_FAMILIES",
    "GbmProbe",
    "fit_gbm",
    "fit_gbms",
    "probe_families",
    "TreeProbe",
    "LinearProbe",
    "ProbeBundle",
    "load_bundle",
    "predict_checkpoints",
    "CheckpointFeatures",
    "Prediction",
    "ProbeResults",
    "RidgeProbe",
    "SoftmaxProbe",
    "Task",
    "evaluate_probes",
    "fit_ridge",
    "fit_ridges",
    "fit_softmax",
    "probe_zoo",
    "results_table",
    "split_warning",
    "run_label",
    "run_labels",
    "tasks_for",
    "tau_table",
    "umap_embeddings",
    "zoo_features",
    "ZooStructure",
    "is_saved_structure",
    "load_structure",
    "save_structure",
    "settings_differ",
    "structure_table",
    "weight_space_structure",
]
