"""The 2022 paper's sampling table from `hyperrep sample --finetune E` folders: test
accuracy (mean +- std, %) of each folder's samples at every fine-tuning epoch, and of the
zoo's test-split models at the same epochs (B_T), as docs/results.md quotes them.

    python experiments/sampling_table.py RUN ZOO SAMPLES [SAMPLES ...]

RUN gives the split seed (and weight limit) the samples' B_T row is taken with; ZOO is
the zoo the samples were fine-tuned on (for transfer: the other zoo).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from hyperrep.representation import load_run
from hyperrep.zoo import load_checkpoints, open_zoo


def cell(values: np.ndarray) -> str:
    return f"{100 * np.mean(values):.1f} ± {100 * np.std(values):.1f}"


def main() -> None:
    run_path, zoo_path, *folders = sys.argv[1:]
    train = load_run(run_path).config.train
    zoo = open_zoo(zoo_path)
    table = load_checkpoints(
        zoo, train.split_seed, include_init=True, weight_limit=train.weight_limit
    ).table
    test = table[table["split"] == "test"]
    rows = []
    epochs = 0
    for folder in folders:
        manifest = json.loads((Path(folder) / "manifest.json").read_text())
        acc = np.array([s["finetuned_test_acc"] for s in manifest["samples"]])
        epochs = max(epochs, acc.shape[1])
        rows.append((f"{manifest['method']} ({Path(folder).name}, {len(acc)} samples)", acc))
    head = " | ".join(f"epoch {e}" for e in range(epochs))
    print(f"| method | {head} |")
    print("| --- |" + " --- |" * epochs)
    b_t = [test[test["epoch"] == e]["test_acc"].to_numpy() for e in range(epochs)]
    models = test["model_id"].nunique()
    print(f"| B_T ({models} test models) | " + " | ".join(cell(v) for v in b_t) + " |")
    for name, acc in rows:
        print(f"| {name} | " + " | ".join(cell(acc[:, e]) for e in range(acc.shape[1])) + " |")


if __name__ == "__main__":
    main()
