"""Short ED runs on a CNN zoo that tell why its reconstruction stays at the mean:
without augmentations (can the model fit its training models at all?) and at d_model
256 instead of 128 (is the token embedding, narrower than the 201-wide conv2 tokens, the
limit?). Prints (epoch, training reconstruction loss, validation R²) per epoch.

    python experiments/cnn_reconstruction_checks.py reproduce/mnist-seed/zoo --out /tmp/checks
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from hyperrep.pipeline import RECIPES, run_config
from hyperrep.representation import train_representation
from hyperrep.zoo import Zoo

CHECKS = {
    "no-augmentation": ({"d_model": 128, "d_ff": 512}, {"permutation": False, "erase_p": 0.0}, 4),
    "d256": ({"d_model": 256, "d_ff": 512}, {}, 3),
    "d128": ({"d_model": 128, "d_ff": 512}, {}, 3),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("zoo")
    parser.add_argument("--out", type=Path, required=True, help="folder for the runs")
    args = parser.parse_args()
    zoo = Zoo(args.zoo)
    base = RECIPES.create("mnist-seed").runs[0]
    for name, (model, train, epochs) in CHECKS.items():
        recipe = replace(
            base, variant="ed", epochs=epochs, model=model, train={**base.train, **train}
        )
        history = train_representation(
            zoo, run_config(recipe, zoo), args.out / name, progress=False
        )
        rows = [
            (h["epoch"], round(h["train_reconstruction"], 3), round(h["val_r2"], 3))
            for h in history
        ]
        print(name, rows, flush=True)


if __name__ == "__main__":
    main()
