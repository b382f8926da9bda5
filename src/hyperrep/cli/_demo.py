"""`hyperrep demo`: the main job on built-in defaults, small enough for a laptop CPU."""

from __future__ import annotations

import argparse
from pathlib import Path

from hyperrep.cli._zoo import format_summary
from hyperrep.zoo import create_zoo, create_zoo_config

DEMO_MODELS = 200


def add_parser(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser("demo", help="build a small Tetris zoo and summarise it")
    demo.add_argument("--out", type=Path, default=Path("zoos/demo-tetris-seed"),
                      help="zoo folder (default: zoos/demo-tetris-seed)")  # fmt: skip
    demo.add_argument("--models", type=int, default=DEMO_MODELS, help="number of models")
    demo.set_defaults(run=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    config = create_zoo_config("tetris-seed", n_models=args.models)
    print(f"Training {config.n_models} Tetris MLPs for {config.epochs} epochs into {args.out}")
    zoo = create_zoo(config, args.out)
    print(format_summary(zoo.summary()))
    return 0
