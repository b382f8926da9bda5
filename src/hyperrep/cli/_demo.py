"""`hyperrep demo`: zoo -> hyper-representation -> probes -> table, on a laptop CPU."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from hyperrep.cli._zoo import format_summary

DEMO_MODELS = 200
DEMO_EPOCHS = 5


def add_parser(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser(
        "demo", help="the whole pipeline on a small Tetris zoo (a few minutes on a CPU)"
    )
    demo.add_argument("--out", type=Path, default=Path("demo"),
                      help="folder for the zoo, run and report (default: demo)")  # fmt: skip
    demo.add_argument("--models", type=int, default=DEMO_MODELS, help="number of models")
    demo.add_argument("--epochs", type=int, default=DEMO_EPOCHS,
                      help="epochs of representation learning")  # fmt: skip
    demo.set_defaults(run=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from hyperrep.probes import evaluate_probes, results_table, tasks_for, zoo_features
    from hyperrep.report import plot_predictions
    from hyperrep.representation import load_run, representation_preset, train_representation
    from hyperrep.zoo import create_zoo, create_zoo_config

    config = create_zoo_config("tetris-seed", n_models=args.models)
    print(f"1/3 zoo: {config.n_models} Tetris MLPs x {config.epochs} epochs -> {args.out / 'zoo'}")
    zoo = create_zoo(config, args.out / "zoo")
    print(format_summary(zoo.summary()))

    run_config = representation_preset("tetris-seed").with_compression(100, 2)
    run_config = replace(run_config, train=replace(run_config.train, epochs=args.epochs))
    print(f"\n2/3 hyper-representation: E_cD, c = 2, {args.epochs} epochs -> {args.out / 'run'}")
    train_representation(zoo, run_config, args.out / "run")
    run = load_run(args.out / "run")

    print(f"\n3/3 linear probes on W, s(W) and E_cD -> {args.out / 'report'}")
    features = zoo_features(zoo, [run])
    predictions = evaluate_probes(features, tasks_for(features.table))
    table = results_table(predictions).round(1)
    (args.out / "report").mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "report" / "results.csv")
    for name in features.values:
        safe = name.replace(" ", "_").replace("(", "").replace(")", "").replace("=", "")
        plot_predictions(predictions, name, args.out / "report" / f"predictions_{safe}.png")
    print("\nR² (%) of linear probes on the test split (appendix Table 5 layout):")
    print(table.to_string())
    return 0
