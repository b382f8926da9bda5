"""Does a learned latent hold what s(W) lacks? Probes on the latent joined with s(W).

Where E_cD trails s(W) on a task (Act and Opt on the MNIST-HYP zoos, docs/results.md),
either the latent lacks what s(W) reads, or it holds something else besides. A probe on
[latent, s(W)] (the two feature blocks side by side; the probes standardise each
feature) tells them apart: level with s(W) alone, the latent adds nothing to it; above,
it carries information the statistics do not. Same checkpoints, split, weight limit and
probes as `hyperrep evaluate RUN ZOO` (`zoo_features`); prints test-split R^2 (%,
accuracy for the classification tasks) for W, s(W), s(W) tensor, the latent and the
two joined columns, and Kendall's tau.

    python experiments/latent_with_stats.py RUN ZOO --models 96
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import hyperrep
from hyperrep.probes import (
    CheckpointFeatures,
    evaluate_probes,
    results_table,
    run_label,
    tasks_for,
    tau_table,
    zoo_features,
)
from hyperrep.representation import load_run


def joined(features: CheckpointFeatures, latent: str) -> CheckpointFeatures:
    """`features` with columns 'LATENT + s(W)' and 'LATENT + s(W) tensor' added."""
    values = dict(features.values)
    for stats in ("s(W)", "s(W) tensor"):
        values[f"{latent} + {stats}"] = np.hstack([values[latent], values[stats]])
    return CheckpointFeatures(features.table, values, features.weight_limit, features.over_limit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run")
    parser.add_argument("zoo")
    parser.add_argument("--models", type=int, help="the zoo's first N models only")
    args = parser.parse_args()
    start = time.perf_counter()
    run = load_run(args.run)
    zoo = hyperrep.open_zoo(args.zoo)
    zoo = zoo if args.models is None else zoo.first(args.models)
    label = run_label(run)
    source = joined(zoo_features(zoo, [run]), label)
    print(
        f"{source.table['model_id'].nunique()} models, {len(source.table)} checkpoints, "
        f"{source.over_limit} left out above the weight limit {source.weight_limit}"
    )
    predictions = evaluate_probes(source, tasks_for(source.table), progress=True)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", None)
    print(f"\nR^2 (%), accuracy (%) for Act / Init / Opt\n{results_table(predictions).round(1)}")
    print(f"\nKendall's tau\n{tau_table(predictions).round(3)}")
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
