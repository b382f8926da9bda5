"""`hyperrep symmetry-check`: the appendix's Figure 1 experiment, as JSON and a plot."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hyperrep._errors import HyperrepError
from hyperrep.zoo import create_zoo_config


def add_parser(commands: argparse._SubParsersAction) -> None:
    check = commands.add_parser(
        "symmetry-check",
        help="show that permuted networks are equivalent (appendix Figure 1)",
        description="Train model A, permute every checkpoint (Ap), train B from Ap's start; "
        "write accuracies and l2 distances per epoch. Exits 1 if equivalence fails.",
    )
    check.add_argument("--out", type=Path, required=True, help="folder for the JSON and PNG")
    check.add_argument(
        "--preset", default="tetris-seed", help="zoo preset: architecture and training settings"
    )
    check.add_argument(
        "--epochs", type=int, default=10, help="zoo epochs model A trains (default 10)"
    )
    check.add_argument("--seed", type=int, default=1, help="model A's seed")
    check.add_argument(
        "--permutation-seed", type=int, default=0, help="seed of the permutation P (default 0)"
    )
    check.add_argument(
        "--lr",
        type=float,
        default=1e-3,
        help="learning rate (default 1e-3: ten epochs show learning)",
    )
    check.add_argument("--train-subset", type=int, help="use the first K training images")
    check.add_argument("--test-subset", type=int, help="use the first K test images")
    check.add_argument("--data-dir", type=Path, help="folder with the MNIST IDX files")
    check.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    check.set_defaults(run=run_check)


def run_check(args: argparse.Namespace) -> int:
    from hyperrep.pipeline import plot_symmetry_check, run_symmetry_check

    config = create_zoo_config(
        args.preset,
        epochs=args.epochs,
        train_subset=args.train_subset,
        test_subset=args.test_subset,
    )
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise HyperrepError(f"cannot write to {args.out}: {err.strerror or err}") from err
    result = run_symmetry_check(
        config,
        seed=args.seed,
        permutation_seed=args.permutation_seed,
        lr=args.lr,
        data_dir=args.data_dir,
        device=args.device,
    )
    (args.out / "symmetry_check.json").write_text(json.dumps(result.to_dict(), indent=2))
    plot = plot_symmetry_check(result, args.out / "symmetry_check.png")
    print(
        f"A vs Ap: max test accuracy difference {result.max_acc_diff_a_ap:.2e} "
        f"({'ok' if result.forward_ok else 'FAILED'})"
    )
    print(
        f"B vs Ap: max |Ap - B| / |Ap| {result.max_relative_drift_b:.2e} "
        f"({'ok' if result.backward_ok else 'FAILED'})"
    )
    print(
        f"A vs Ap: l2 distance {result.dist_a_ap[0]:.3g} at epoch 0, "
        f"{result.dist_a_ap[-1]:.3g} at epoch {result.epochs[-1]}"
    )
    print(f"wrote {args.out / 'symmetry_check.json'} and {plot}")
    return 0 if result.forward_ok and result.backward_ok else 1
