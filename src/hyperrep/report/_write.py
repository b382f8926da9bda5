"""A probe report rendered from saved results: Markdown tables and plots."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hyperrep.probes import ProbeResults, split_warning
from hyperrep.report._probes import (
    plot_accuracy_over_epochs,
    plot_accuracy_over_mean_weight,
    plot_embeddings,
    plot_predictions,
)


def render_report(results: ProbeResults, out: str | Path) -> Path:
    """Write `results.md` (and `results_ood.md`) and the plots of `results` into `out`
    (normally the folder the results were saved to; see `ProbeResults`)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    meta = results.meta
    for domain, table in results.tables.items():
        stem = "results" if domain == "id" else "results_ood"
        (out / f"{stem}.md").write_text(_markdown(table, results.taus[domain], meta, domain))
    predictions = results.prediction_list()
    for name in dict.fromkeys(results.predictions["representation"]):
        plot_predictions(predictions, name, out / f"predictions_{_file_safe(name)}.png")
    per_zoo = dict(iter(results.checkpoints.groupby("zoo", sort=False)))
    plot_accuracy_over_epochs(per_zoo, out / "accuracy_over_epochs.png")
    means = {k: (t, t["mean_weight"].to_numpy()) for k, t in per_zoo.items()}
    plot_accuracy_over_mean_weight(means, out / "accuracy_over_mean_weight.png")
    if results.embeddings is not None:
        plot_embeddings(results.embeddings, out / "umap.png")
    return out


def _file_safe(name: str) -> str:
    return name.replace(" ", "_").replace("(", "").replace(")", "").replace("=", "")


def _markdown(table: pd.DataFrame, tau: pd.DataFrame, meta: dict, domain: str) -> str:
    ood = domain == "ood"
    where = f"{meta['zoo']}" if not ood else f"{meta['zoo']} -> {meta['ood']}"
    sizes = meta.get("ood_split_models" if ood else "split_models")
    split = (
        "Models per split (train / val / test): "
        f"{sizes['train']} / {sizes['val']} / {sizes['test']}."
        if sizes
        else ""
    )
    warning = split_warning(sizes, meta["ood"] if ood else meta["zoo"])
    return "\n".join(
        [
            f"# Model characteristic prediction: {meta['preset']} ({'OOD' if ood else 'ID'})",
            "",
            f"Probes fitted on the train split of {meta['zoo']}, evaluated on the test split "
            f"({where}).",
            "R² in % for continuous targets, accuracy in % for categorical ones.",
            *(
                [
                    "Columns marked [gbm]: gradient-boosted trees (LightGBM) on the same "
                    "features; the others: linear probes (ridge, softmax), the paper's."
                ]
                if any(str(c).endswith("[gbm]") for c in table.columns)
                else []
            ),
            split,
            *([f"**{warning}**"] if warning else []),
            "",
            markdown_table(table),
            "",
            "Kendall's tau:",
            "",
            markdown_table(tau),
            "",
        ]
    )


def markdown_table(table: pd.DataFrame, index_name: str = "task") -> str:
    """A DataFrame as a GitHub Markdown table, index as the first column."""
    header = f"| {index_name} | " + " | ".join(str(c) for c in table.columns) + " |"
    rule = "| --- |" + " ---: |" * len(table.columns)
    rows = [
        f"| {idx} | " + " | ".join("" if pd.isna(v) else f"{v:g}" for v in row) + " |"
        for idx, row in zip(table.index, table.to_numpy(), strict=True)
    ]
    return "\n".join([header, rule, *rows])
