"""`hyperrep zoo ...`: list presets, create a zoo, describe a zoo."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hyperrep._errors import HyperrepError
from hyperrep.cli._common import add_weight_limit_argument
from hyperrep.zoo import ZOO_PRESETS, create_zoo_config


def add_parser(commands: argparse._SubParsersAction) -> None:
    zoo = commands.add_parser("zoo", help="create and inspect model zoos")
    sub = zoo.add_subparsers(dest="zoo_command", required=True, metavar="ACTION")

    presets = sub.add_parser("presets", help="list the zoo presets")
    presets.set_defaults(run=run_presets)

    create = sub.add_parser("create", help="train a zoo (resumes an interrupted one)")
    create.add_argument("preset", help="preset name, see `hyperrep zoo presets`")
    create.add_argument("--out", required=True, type=Path, help="folder to write the zoo to")
    create.add_argument("--models", type=int, help="train only this many models of the preset")
    create.add_argument("--epochs", type=int, help="epochs per model (preset's default otherwise)")
    create.add_argument("--train-subset", type=int, help="use the first K training images")
    create.add_argument("--test-subset", type=int, help="use the first K test images")
    create.add_argument("--batch-size", type=int, help="training batch size")
    create.add_argument("--population", type=int, help="models trained together per population")
    create.add_argument(
        "--init-scheme",
        choices=["authors", "fan-in"],
        help="what the init names mean (default authors: U(0,1), N(0,1), "
        "PyTorch kaiming/xavier, biases 0.01)",
    )
    create.add_argument(
        "--train-metrics",
        choices=["running", "full"],
        help="train loss/accuracy as the epoch's running mean (default) or a "
        "full pass over the training set after each epoch",
    )
    create.add_argument(
        "--model-order",
        choices=["balanced", "grid"],
        help="which models --models N takes from a grid preset: the first N "
        "of a balanced, nested order (default; the zoo can grow) or a random "
        "draw (zoos of format 3 and earlier)",
    )
    create.add_argument(
        "--flush-subnormals",
        choices=["on", "off"],
        help="zero subnormal weights and optimizer moments after each step "
        "(default on: up to 9x faster, docs/zoo.md; off: zoos of format 4 "
        "and earlier)",
    )
    create.add_argument(
        "--precision",
        choices=["fp32", "bf16"],
        help="arithmetic of the training steps (default fp32, the authors'; bf16: "
        "CNNs only, bfloat16 convolutions and products on fp32 master weights, a "
        "deviation, docs/zoo.md)",
    )
    create.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    create.add_argument("--data-dir", type=Path, help="folder with MNIST / Fashion-MNIST IDX files")
    create.add_argument("--quiet", action="store_true", help="no progress bar")
    create.add_argument(
        "--backend",
        choices=["local", "ray"],
        default="local",
        help="local: train here; ray: one Ray task per population, on a "
        "cluster or a local Ray instance (needs hyperrep[distributed]; "
        "docs/scale.md)",
    )
    ray = create.add_argument_group("with --backend ray (docs/scale.md)")
    ray.add_argument(
        "--address",
        help="the cluster to join, such as HOST:6379 or auto (default: start a local Ray instance)",
    )
    for flag, kind, default, what in (
        ("--task-cpus", float, 1.0, "CPUs per population task"),
        ("--task-gpus", float, 0.0, "GPUs per population task; above 0 it trains on CUDA"),
        ("--retries", int, 2, "retries of a failed task"),
    ):
        ray.add_argument(flag, type=kind, default=default, help=f"{what} (default {default:g})")
    create.set_defaults(run=run_create)

    imp = sub.add_parser("import", help="import a zoo published in another format")
    imp.add_argument(
        "format",
        help="unterthiner (the Small CNN Zoo) or raytune (trial "
        "folders: params.json, result.json, checkpoint_E)",
    )
    imp.add_argument("source", type=Path, help="folder holding the source zoo's files")
    imp.add_argument("--out", required=True, type=Path, help="folder to write the zoo to")
    imp.add_argument("--quiet", action="store_true", help="no progress bar")
    imp.set_defaults(run=run_import)

    info = sub.add_parser("info", help="summarise a zoo folder")
    info.add_argument("zoo", type=Path, help="zoo folder")
    info.set_defaults(run=run_info)

    verify = sub.add_parser("verify", help="check a zoo's files, checksums and checkpoints")
    verify.add_argument("zoo", type=Path, help="zoo folder")
    verify.set_defaults(run=run_verify)

    compare = sub.add_parser(
        "compare",
        help="appendix Figure 3 for zoos side by side, with the numbers behind it",
        description="Accuracy over epochs, accuracy over mean weight and UMAP of W by "
        "activation, init and epoch, one column per zoo (figure3.png); the mean-weight / "
        "accuracy correlation and how separable init and activation are in W "
        "(structure.csv, structure.md; the columns are described in docs/zoo.md). Each "
        "zoo's share is saved under structures/, a small folder that later compares take "
        "in place of the zoo.",
    )
    compare.add_argument(
        "zoos",
        type=Path,
        nargs="+",
        metavar="ZOO",
        help="zoo folders, or folders under an earlier compare's structures/ (drawn as saved)",
    )
    compare.add_argument("--out", required=True, type=Path, help="folder for the figure and tables")
    compare.add_argument("--names", nargs="+", help="column titles (default: the zoos' presets)")
    compare.add_argument(
        "--umap-points",
        type=int,
        default=3000,
        help="checkpoints per UMAP (default 3000; 0: no UMAP rows)",
    )
    compare.add_argument("--seed", type=int, default=0, help="split, samples and UMAP seed")
    add_weight_limit_argument(compare, "none")
    compare.set_defaults(run=run_compare)


def run_presets(args: argparse.Namespace) -> int:
    for name in ZOO_PRESETS.names():
        config = create_zoo_config(name)
        doc = (ZOO_PRESETS.factory(name).__doc__ or "").strip().splitlines()[0]
        print(
            f"{name:24s} {config.architecture:11s} {config.dataset:14s} "
            f"{config.total_models:5d} models x {config.epochs:2d} epochs  {doc}"
        )
    return 0


def run_create(args: argparse.Namespace) -> int:
    from hyperrep.data import DataNotFoundError
    from hyperrep.zoo import create_zoo

    for flag, value in (
        ("--models", args.models),
        ("--epochs", args.epochs),
        ("--train-subset", args.train_subset),
        ("--test-subset", args.test_subset),
        ("--batch-size", args.batch_size),
        ("--population", args.population),
    ):
        if value is not None and value < 1:
            raise HyperrepError(f"{flag} must be >= 1, got {value}")
    preset = create_zoo_config(args.preset)
    if args.models is not None and args.models > preset.total_models:
        raise HyperrepError(
            f"--models {args.models} is more than the {preset.total_models} models of {args.preset}"
        )
    config = create_zoo_config(
        args.preset,
        n_models=args.models,
        epochs=args.epochs,
        train_subset=args.train_subset,
        test_subset=args.test_subset,
        batch_size=args.batch_size,
        init_scheme=args.init_scheme,
        train_metrics=args.train_metrics,
        model_order=args.model_order,
        flush_subnormals=None if args.flush_subnormals is None else args.flush_subnormals == "on",
        precision=args.precision,
    )
    if config.precision == "bf16" and args.device == "cpu":
        print(
            "note: bf16 steps run on PyTorch operations, not the C kernels; on a CPU "
            "they are 4-8x slower than fp32 (docs/zoo.md)",
            file=sys.stderr,
        )
    try:
        zoo = create_zoo(
            config,
            args.out,
            device=args.device,
            population_size=args.population,
            data_dir=args.data_dir,
            progress=not args.quiet,
            threads=args.threads,
            ray=_ray_options(args),
        )
    except DataNotFoundError as err:
        raise HyperrepError(str(err)) from err
    print(format_summary(zoo.summary()))
    print(f"zoo written to {zoo.path}")
    return 0


def _ray_options(args: argparse.Namespace):  # -> RayOptions | None
    ray_flags = {
        "--address": args.address is not None,
        "--task-cpus": args.task_cpus != 1.0,
        "--task-gpus": args.task_gpus != 0.0,
        "--retries": args.retries != 2,
    }
    if args.backend != "ray":
        given = [flag for flag, set_ in ray_flags.items() if set_]
        if given:
            raise HyperrepError(f"{given[0]} applies to --backend ray only")
        return None
    if args.task_cpus <= 0 or args.task_gpus < 0 or args.retries < 0:
        raise HyperrepError("--task-cpus must be > 0, --task-gpus and --retries >= 0")
    from hyperrep.zoo import RayOptions

    return RayOptions(args.address, args.task_cpus, args.task_gpus, args.retries)


def run_import(args: argparse.Namespace) -> int:
    from hyperrep.zoo import import_zoo

    zoo = import_zoo(args.format, args.source, args.out, progress=not args.quiet)
    print(format_summary(zoo.summary()))
    print(f"zoo written to {zoo.path}")
    return 0


def run_info(args: argparse.Namespace) -> int:
    from hyperrep.zoo import open_zoo

    print(format_summary(open_zoo(args.zoo).summary()))
    return 0


def run_compare(args: argparse.Namespace) -> int:
    import dataclasses
    import re

    from tqdm.auto import tqdm

    import hyperrep.probes as probes
    from hyperrep.report import markdown_table, plot_zoo_structure
    from hyperrep.zoo import open_zoo

    if args.names is not None and len(args.names) != len(args.zoos):
        raise HyperrepError(f"--names gives {len(args.names)} names for {len(args.zoos)} zoos")
    if args.umap_points < 0:
        raise HyperrepError(f"--umap-points must be >= 0, got {args.umap_points}")
    # every folder is checked before any work: a zoo, or a structure saved by compare
    sources = [
        probes.load_structure(p) if probes.is_saved_structure(p) else open_zoo(p) for p in args.zoos
    ]
    names = args.names or [
        s.name if isinstance(s, probes.ZooStructure) else s.config.preset for s in sources
    ]
    folders = [re.sub(r"[^A-Za-z0-9._-]+", "_", name) for name in names]
    if len(set(folders)) < len(folders):
        raise HyperrepError(f"two columns would share a name ({', '.join(names)}): give --names")
    requested = {
        "seed": args.seed,
        "umap_points": args.umap_points,
        "weight_limit": args.weight_limit,
    }
    structures = []
    for source, name in tqdm(
        list(zip(sources, names, strict=True)), desc="zoos", unit="zoo", dynamic_ncols=True
    ):
        if not isinstance(source, probes.ZooStructure):
            structures.append(probes.weight_space_structure(source, name, **requested))
            continue
        for differ in probes.settings_differ(source, **requested):
            print(f"{name}: shown as saved ({differ})")
        structures.append(dataclasses.replace(source, name=name))
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        for structure, folder in zip(structures, folders, strict=True):
            probes.save_structure(structure, args.out / "structures" / folder)
    except OSError as err:
        raise HyperrepError(f"cannot write to {args.out}: {err.strerror or err}") from err
    table = probes.structure_table(structures)
    table.to_csv(args.out / "structure.csv")
    shown = markdown_table(table.T.round(3), index_name="quantity")
    (args.out / "structure.md").write_text(shown + "\n")
    plot_zoo_structure(structures, args.out / "figure3.png")
    print(shown)
    print(
        f"figure3.png, structure.csv, structure.md and structures/ (to draw again without "
        f"the zoos) written to {args.out}"
    )
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from hyperrep.zoo import open_zoo

    zoo = open_zoo(args.zoo)  # header, size and metadata checks
    problems = zoo.verify()
    done = zoo.progress["done"]
    unchecked = [c for c in done if str(c) not in zoo.progress["checksums"]]
    if problems:
        for line in problems[:20]:
            print(f"problem: {line}")
        if len(problems) > 20:
            print(f"... and {len(problems) - 20} more")
        print(f"{args.zoo}: {len(problems)} problem(s) in {len(done)} finished chunk(s)")
        return 1
    note = (
        f"; {len(unchecked)} chunk(s) finished before checksums were recorded: values "
        "checked, no checksum"
        if unchecked
        else ""
    )
    print(
        f"{args.zoo}: ok ({len(done)} of {len(zoo.meta['chunks'])} chunks finished, files, "
        f"checksums and checkpoints consistent{note})"
    )
    return 0


def format_summary(summary: dict) -> str:
    """Human-readable zoo summary, with the test accuracy spread per epoch."""
    import pandas as pd

    incomplete = " (incomplete: rerun `zoo create` to resume"
    if summary.get("finished_prefix", 0) >= 3:
        n = summary["finished_prefix"]
        incomplete += f"; train and evaluate take its first {n} with --models {n}"
    lines = [
        f"preset        {summary['preset']}",
        f"architecture  {summary['architecture']} ({summary['n_params']} parameters)",
        f"models        {summary['models_done']} of {summary['models_planned']} trained"
        + ("" if summary["complete"] else incomplete + ")"),
        f"epochs        {summary['epochs']} (+ epoch 0 = initialisation; left out of "
        "representation training and probes unless --include-init)",
        f"training      {summary['training']}",
        f"GGap          {summary['ggap']}",
        f"diverged      {summary['diverged']} models (kept on disk, left out of data sets)",
        *(
            [f"missing       {summary['missing']} checkpoints the source lacks (left out)"]
            if summary.get("missing")
            else []
        ),
    ]
    acc = summary.get("test_acc_by_epoch")
    if isinstance(acc, pd.DataFrame) and not acc.empty:
        epochs = sorted(set(acc.index) & set(_shown_epochs(int(acc.index.max()))))
        lines.append("test accuracy over healthy models (min / 25% / median / 75% / max):")
        for e in epochs:
            row = acc.loc[e]
            cells = " / ".join(f"{100 * row[c]:5.1f}" for c in ["min", "25%", "50%", "75%", "max"])
            lines.append(f"  epoch {e:3d}  {cells}")
    by = summary.get("test_acc_by_hyperparameter")
    if isinstance(by, pd.DataFrame) and not by.empty:
        lines.append(
            f"test accuracy at epoch {int(by['epoch'].iloc[0])} by hyperparameter "
            "(median over healthy models, models in brackets):"
        )
        for name in by.index.unique("hyperparameter"):
            cells = ", ".join(
                f"{f'{value:g}' if isinstance(value, float) else value} "
                f"{100 * row['median']:.1f} ({int(row['models'])})"
                for value, row in by.loc[name].iterrows()
            )
            lines.append(f"  {name:12s}  {cells}")
    return "\n".join(lines)


def _shown_epochs(last: int) -> list[int]:
    if last <= 10:
        return list(range(last + 1))
    return sorted({0, 1, 2, 5, *range(10, last, 10), last})
