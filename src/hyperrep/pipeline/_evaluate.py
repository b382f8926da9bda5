"""Probes on a zoo, saved, then rendered: what `hyperrep evaluate` and the recipes run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from hyperrep._errors import HyperrepError
from hyperrep.probes import RESULTS_FILE, ProbeResults, probe_zoo
from hyperrep.report import render_report
from hyperrep.representation import TrainedRun
from hyperrep.zoo import Zoo


def evaluate_zoo(
    zoo: Zoo,
    runs: list[TrainedRun],
    out: str | Path,
    *,
    ood: Zoo | None = None,
    umap_points: int = 3000,
    include_init: bool = False,
    progress: bool = False,
    permutations: int = 1,
    families: Sequence[str] = ("linear",),
    weight_limit: float | None = None,
) -> dict[str, pd.DataFrame]:
    """Probe W, s(W) and each run's latent on `zoo` (and `ood`), save the results to `out`
    and render the report there. Returns the R² tables by domain ("id", "ood"), in %.

    With `permutations` K > 1 each run's latent averaged over K input permutations is
    probed too; `families` are the probe families (linear, gbm); checkpoints with a
    |weight| above `weight_limit` (by default the runs') are left out."""
    out = Path(out)
    if out.exists() and (
        not out.is_dir() or (any(out.iterdir()) and not (out / RESULTS_FILE).is_file())
    ):
        raise HyperrepError(
            f"{out} exists and is neither empty nor a hyperrep report; choose another --out"
        )
    results: ProbeResults = probe_zoo(
        zoo,
        runs,
        ood=ood,
        umap_points=umap_points,
        include_init=include_init,
        progress=progress,
        permutations=permutations,
        families=families,
        weight_limit=weight_limit,
    )
    results.save(out)
    render_report(results, out)
    return results.tables
