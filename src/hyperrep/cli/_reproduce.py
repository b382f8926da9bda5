"""`hyperrep reproduce` and `hyperrep demo`: a recipe end to end, table at the end."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from hyperrep._home import data_home
from hyperrep.cli._common import add_permutation_average_argument
from hyperrep.cli._evaluate import print_tables
from hyperrep.pipeline import RECIPES, Recipe


def add_parsers(commands: argparse._SubParsersAction) -> None:
    width = max(map(len, RECIPES.names())) + 2
    recipes = "\n".join(f"  {n:{width}s}{RECIPES.factory(n).__doc__}" for n in RECIPES.names())
    parser = commands.add_parser(
        "reproduce",
        help="zoo -> hyper-representations -> probes -> report, from a recipe",
        description="Run a stored recipe end to end. Run the same command again to resume "
        f"an interrupted one.\n\nrecipes:\n{recipes}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "recipe",
        choices=RECIPES.names(),
        metavar="RECIPE",
        help=f"one of: {', '.join(RECIPES.names())}",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="output folder (default: DATA_HOME/reproduce/RECIPE, shown by `hyperrep doctor`)",
    )
    parser.add_argument(
        "--models", type=int, help="train only this many models of each zoo (default: the preset's)"
    )
    parser.add_argument(
        "--run-epochs", type=int, help="epochs of every representation run (default: the recipe's)"
    )
    add_permutation_average_argument(parser, None, "the recipe's: 16 for the CNN recipes, else 1")
    _common(parser)
    parser.set_defaults(run=run_reproduce)

    demo = commands.add_parser(
        "demo", help="the whole pipeline on a small Tetris hyperparameter zoo (minutes on a CPU)"
    )
    recipe = RECIPES.create("demo")
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("demo"),
        help="folder for the zoo, run and report (default: demo)",
    )
    demo.add_argument(
        "--models",
        type=int,
        default=recipe.zoo_options["n_models"],
        help="number of models (default %(default)s)",
    )
    demo.add_argument(
        "--run-epochs",
        type=int,
        default=recipe.runs[0].epochs,
        help="epochs of representation learning (default %(default)s), as in `reproduce`",
    )
    _common(demo)
    demo.set_defaults(run=run_demo)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, help="folder with the MNIST / Fashion-MNIST files")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def default_reproduce_folder(recipe: str) -> Path:
    """Where `reproduce RECIPE` builds without --out: under the data home, outside any
    working copy (zoos took hours and were lost with working copies before)."""
    return data_home() / "reproduce" / recipe


def run_reproduce(args: argparse.Namespace) -> int:
    out = args.out or default_reproduce_folder(args.recipe)
    recipe = RECIPES.create(args.recipe).scaled(args.models, args.run_epochs)
    if args.permutation_average is not None:
        recipe = replace(recipe, permutation_average=args.permutation_average)
    _run(recipe, out, args)
    return 0


def run_demo(args: argparse.Namespace) -> int:
    recipe = RECIPES.create("demo")
    recipe = replace(
        recipe,
        zoo_options={**recipe.zoo_options, "n_models": args.models},
        runs=(replace(recipe.runs[0], epochs=args.run_epochs),),
    )
    tables = _run(recipe, args.out, args)
    print(f"\n{_DEMO_NOTE}")
    _print_leads(tables["id"])
    _predict_user_checkpoint(args.out)
    return 0


_DEMO_NOTE = (
    "How to read it: rows are model characteristics predicted from the weights alone "
    "(test accuracy Acc, generalization gap GGap, per-class F1 F_c, epoch Eph, the "
    "learning rate LR, the activation Act and the init Init; R² in %, accuracy in % for "
    "Act/Init), columns the inputs of the linear probes: the raw weights W, their "
    "statistics s(W) (the strong baseline) and the learned representation E_cD."
)


def _print_leads(table) -> None:  # noqa: ANN001 (a pandas DataFrame)
    from hyperrep.pipeline import representation_leads

    leads = representation_leads(table)
    if not leads:
        print("Here the representation is not ahead of s(W) on any task by a point or more.")
        return
    named = ", ".join(
        f"{lead.task} {lead.score:.1f} vs {lead.baseline_score:.1f}" for lead in leads
    )
    print(f"The learned representation beats the weight statistics s(W) on {named}.")


def _predict_user_checkpoint(out: Path) -> None:
    from hyperrep.pipeline import write_user_checkpoint
    from hyperrep.probes import predict_checkpoints

    path = out / "my-model.pt"
    accuracy = write_user_checkpoint(path)
    used, (row,) = predict_checkpoints(out / "report", [path])
    print(
        f"\nA model of your own: {path} is a 16-5-4 tanh MLP trained in plain PyTorch for 10 "
        f"epochs and saved with torch.save(model.state_dict(), ...); its test accuracy is "
        f"{100 * accuracy:.1f}%. `hyperrep predict {out / 'report'} {path}` reads it with "
        f"the probes on {used}:"
    )
    print(
        f"  test accuracy {100 * row['Acc']:.1f}% ± {100 * row['Acc ±']:.1f}, "
        f"activation {row.get('Act', '?')}, init {row.get('Init', '?')}"
    )


def _run(recipe: Recipe, out: Path, args: argparse.Namespace) -> dict:
    from hyperrep.pipeline import reproduce

    tables = reproduce(
        recipe, out, data_dir=args.data_dir, device=args.device, progress=not args.quiet
    )
    print_tables(tables, out / "report")
    print(f"\nzoo, runs and report in {out} (timings in {out / 'timings.json'})")
    return tables
