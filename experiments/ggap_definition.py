"""Which definition of the generalization gap can linear probes read from the weights?

The zoo records GGap from the running train accuracy of each epoch (the authors' 2022
code). This script evaluates every checkpoint of a finished CNN zoo after the fact, in
eval mode, on a fixed subset of the zoo's own training images, and probes W and s(W) on
both definitions, on the same models and split:

    python experiments/ggap_definition.py zoos/mnist-seed --data-dir ../shared/data \
        --train-images 10000 --out reports/mnist-seed-ggap-definition.csv

(`--accuracies` that CSV probes again without the evaluation.) Besides the two
definitions it probes re-alignments of the recorded metrics: running train accuracy
minus the previous epoch's test accuracy, the within-epoch gain (end-of-epoch minus
running train accuracy) and the running train loss minus the test loss.

GGap (full) = accuracy on the first `--train-images` training images - test accuracy.
The subset is fixed, so its sampling error is a property of the weights, as the test
set's is. Quoted in docs/results.md.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

import hyperrep
from hyperrep.arch import unflatten_params
from hyperrep.population import evaluate_population
from hyperrep.probes import (
    CheckpointFeatures,
    Task,
    evaluate_probes,
    results_table,
    tau_table,
    zoo_features,
)
from hyperrep.zoo import load_zoo_data


def full_pass_train_accuracy(zoo: hyperrep.Zoo, data_dir: str, images: int) -> np.ndarray:
    """(models, epochs + 1) accuracy on the first `images` training images, eval mode."""
    arch = zoo.architecture
    data = load_zoo_data(zoo.config, arch, data_dir, "cpu").subset(images, None)
    table = zoo.properties
    models = np.sort(table["model_index"].unique())
    activation = table.groupby("model_index")["activation"].first()
    out = np.full((zoo.weights.shape[0], zoo.weights.shape[1]), np.nan)
    groups = [models[activation[models].to_numpy() == a] for a in activation.unique()]
    steps = [
        (g[i : i + 96], e)
        for g in groups
        for i in range(0, len(g), 96)
        for e in range(1, zoo.weights.shape[1])
    ]
    for chunk, epoch in tqdm(steps, desc="train-set passes"):
        flat = torch.from_numpy(np.ascontiguousarray(zoo.weights[chunk, epoch], dtype=np.float32))
        params = unflatten_params(arch, flat)
        tally = evaluate_population(
            arch, activation[chunk[0]], params, data.x_train, data.y_train, data.num_classes
        )
        out[chunk, epoch] = tally.accuracy()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("zoo")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--train-images", type=int, default=10000)
    parser.add_argument("--out", default=None, help="CSV of the per-checkpoint accuracies")
    parser.add_argument(
        "--accuracies", default=None, help="a CSV that --out wrote: probe again without evaluating"
    )
    args = parser.parse_args()

    zoo = hyperrep.open_zoo(args.zoo)
    features = zoo_features(zoo, [])
    saved = pd.read_csv(args.accuracies) if args.accuracies else None
    if saved is not None:  # the models evaluated then (a growing zoo has more now)
        keep = features.table["model_index"].isin(saved["model_index"]).to_numpy()
        features = CheckpointFeatures(
            features.table[keep].reset_index(drop=True),
            {k: v[keep] for k, v in features.values.items()},
        )
    table = features.table
    rows, epochs = table["model_index"].to_numpy(), table["epoch"].to_numpy()
    if saved is not None:
        saved = saved.set_index(["model_index", "epoch"])
        full = saved.loc[list(zip(rows, epochs, strict=True)), "train_acc_full"].to_numpy()
    else:
        start = time.perf_counter()
        full = full_pass_train_accuracy(zoo, args.data_dir, args.train_images)[rows, epochs]
        print(f"evaluated in {time.perf_counter() - start:.0f} s")
    props = zoo.properties.set_index(["model_index", "epoch"])
    previous_test = props.loc[list(zip(rows, epochs - 1, strict=True)), "test_acc"].to_numpy()
    table["train_acc_full"] = full
    table["ggap_full"] = full - table["test_acc"].to_numpy()
    table["ggap_previous_test"] = table["train_acc"].to_numpy() - previous_test
    table["within_epoch_gain"] = full - table["train_acc"].to_numpy()
    table["loss_gap"] = table["train_loss"].to_numpy() - table["test_loss"].to_numpy()
    if args.out:
        table[
            ["model_index", "epoch", "train_acc", "train_acc_full", "test_acc", "ggap", "ggap_full"]
        ].to_csv(args.out, index=False)
    columns = {
        "GGap (running)": "ggap",
        "GGap (full)": "ggap_full",
        "GGap (running - previous test)": "ggap_previous_test",
        "within-epoch gain (full - running)": "within_epoch_gain",
        "train - test loss (running)": "loss_gap",
        "Acc": "test_acc",
        "Train acc (full)": "train_acc_full",
    }
    final = table["epoch"].max()
    for name, column in columns.items():
        last = table[table["epoch"] == final][column] * 100
        spread = table[column] * 100
        print(
            f"{name}: all checkpoints std {spread.std():.2f} points, "
            f"epoch {final} median {last.median():.2f} std {last.std():.2f}"
        )
    tasks = [Task(name, column, "regression") for name, column in columns.items()]
    predictions = evaluate_probes(features, tasks)
    print("R^2 (%), test split:")
    print(results_table(predictions, "id").round(1).to_string())
    print("Kendall's tau:")
    print(tau_table(predictions, "id").round(3).to_string())


if __name__ == "__main__":
    main()
