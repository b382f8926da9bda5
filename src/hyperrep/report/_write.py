"""A whole probe report: tables (Markdown + CSV, R² and Kendall's tau) and plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hyperrep._errors import HyperrepError
from hyperrep.probes import (
    evaluate_probes,
    results_table,
    run_labels,
    tasks_for,
    tau_table,
    zoo_features,
)
from hyperrep.report._probes import (
    plot_accuracy_over_epochs,
    plot_accuracy_over_mean_weight,
    plot_predictions,
    plot_umaps,
)
from hyperrep.representation import (
    CheckpointData,
    TrainedRun,
    load_checkpoints,
    test_reconstruction_r2,
)
from hyperrep.zoo import Zoo


def write_probe_report(
    zoo: Zoo,
    runs: list[TrainedRun],
    out: str | Path,
    ood: Zoo | None = None,
    umap_points: int = 3000,
    include_init: bool = False,
) -> dict[str, pd.DataFrame]:
    """Probe W, s(W) and each run's latent on `zoo` (and on `ood`); write tables and plots.

    Returns the R² tables by domain ("id", and "ood" when `ood` is given), in %. Their
    first row, Rec, is the test reconstruction R² of each run that has a decoder (absent
    when no run has one). Checkpoints are epochs 1..E, and epoch 0 with `include_init`.
    """
    out = Path(out)
    source = zoo_features(zoo, runs, include_init=include_init)
    target = None
    if ood is not None:
        if not ood.architecture.same_layout(zoo.architecture):
            raise HyperrepError(f"{ood.path} has another architecture than {zoo.path}")
        target = zoo_features(ood, runs, include_init=include_init)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise HyperrepError(f"cannot write to {out}: {err.strerror or err}") from err
    predictions = evaluate_probes(source, tasks_for(source.table), target)
    tables = {}
    for domain in ["id"] + (["ood"] if target is not None else []):
        other_zoo = ood if domain == "ood" and ood is not None else zoo
        table = results_table(predictions, domain)
        if any(r.config.train.variant != "ec" for r in runs):
            rec = _reconstruction_row(runs, other_zoo, table.columns, include_init)
            table = pd.concat([rec, table])
        table = table.round(1)
        tau = tau_table(predictions, domain).round(3)
        stem = "results" if domain == "id" else "results_ood"
        table.to_csv(out / f"{stem}.csv")
        tau.to_csv(out / f"{stem}_kendall_tau.csv")
        other = ood if domain == "ood" else None
        (out / f"{stem}.md").write_text(_markdown(table, tau, zoo, other))
        tables[domain] = table
    for name in source.values:
        plot_predictions(predictions, name, out / f"predictions_{_file_safe(name)}.png")
    per_zoo = {zoo.config.preset: source}
    if ood is not None and target is not None:
        per_zoo[f"{ood.config.preset} (OOD)"] = target
    plot_accuracy_over_epochs({k: f.table for k, f in per_zoo.items()},
                              out / "accuracy_over_epochs.png")  # fmt: skip
    means = {k: (f.table, f.values["W"].mean(axis=1, dtype=np.float64))
             for k, f in per_zoo.items()}  # fmt: skip
    plot_accuracy_over_mean_weight(means, out / "accuracy_over_mean_weight.png")
    if umap_points > 0:
        plot_umaps(source.values, source.table, out / "umap.png", umap_points)
    return tables


def _reconstruction_row(
    runs: list[TrainedRun], zoo: Zoo, columns: pd.Index, include_init: bool
) -> pd.DataFrame:
    loaded: dict[int, CheckpointData] = {}  # one load of the zoo per split seed
    row = {}
    for run, label in zip(runs, run_labels(runs), strict=True):
        if run.config.train.variant != "ec":
            seed = run.config.train.split_seed
            if seed not in loaded:
                loaded[seed] = load_checkpoints(zoo, seed, include_init)
            row[label] = 100 * test_reconstruction_r2(run, zoo, loaded[seed])
    return pd.DataFrame([row], index=["Rec"], columns=columns, dtype=float)


def _file_safe(name: str) -> str:
    return name.replace(" ", "_").replace("(", "").replace(")", "").replace("=", "")


def _markdown(table: pd.DataFrame, tau: pd.DataFrame, zoo: Zoo, ood: Zoo | None) -> str:
    where = f"{zoo.path}" if ood is None else f"{zoo.path} -> {ood.path}"
    return "\n".join([
        f"# Model characteristic prediction: {zoo.config.preset} ({'OOD' if ood else 'ID'})",
        "",
        f"Probes fitted on the train split of {zoo.path}, evaluated on the test split ({where}).",
        "R² in % for continuous targets, accuracy in % for categorical ones.",
        "",
        markdown_table(table),
        "",
        "Kendall's tau:",
        "",
        markdown_table(tau),
        "",
    ])  # fmt: skip


def markdown_table(table: pd.DataFrame) -> str:
    """A DataFrame as a GitHub Markdown table, index as the first column."""
    header = "| task | " + " | ".join(str(c) for c in table.columns) + " |"
    rule = "| --- |" + " ---: |" * len(table.columns)
    rows = [f"| {idx} | " + " | ".join("" if pd.isna(v) else f"{v:g}" for v in row) + " |"
            for idx, row in zip(table.index, table.to_numpy(), strict=True)]  # fmt: skip
    return "\n".join([header, rule, *rows])
