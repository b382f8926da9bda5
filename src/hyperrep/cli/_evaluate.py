"""`hyperrep evaluate`: probe W, s(W) and learned representations; tables and plots."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hyperrep._errors import HyperrepError
from hyperrep.cli._common import (
    add_models_argument,
    add_permutation_average_argument,
    add_weight_limit_argument,
    open_zoo_models,
)


def add_parser(commands: argparse._SubParsersAction) -> None:
    evaluate = commands.add_parser(
        "evaluate",
        help="predict model characteristics with linear (and tree) probes",
        description="Fit probes (linear; --probes linear,gbm adds gradient-boosted "
        "trees) on the train split of ZOO for every task and "
        "representation (W, s(W), and the latent of each RUN), score them on the test split "
        "(and on --ood ZOO2's test split), and write tables and plots.",
    )
    evaluate.add_argument(
        "sources",
        nargs="+",
        metavar="RUN|baselines",
        help="run folders, or 'baselines' for W and s(W) only",
    )
    evaluate.add_argument("zoo", type=Path, metavar="ZOO", help="zoo folder")
    evaluate.add_argument("--out", type=Path, required=True, help="report folder")
    add_models_argument(evaluate)
    evaluate.add_argument(
        "--ood",
        type=Path,
        metavar="ZOO2",
        help="another zoo of the same architecture to evaluate on",
    )
    evaluate.add_argument(
        "--ood-models",
        type=int,
        metavar="N",
        help="use ZOO2's first N models only, e.g. the finished part of a "
        "zoo that is still growing",
    )
    evaluate.add_argument(
        "--umap-points",
        type=int,
        default=3000,
        help="checkpoints per UMAP plot, 0 for none (default 3000)",
    )
    evaluate.add_argument(
        "--include-init", action="store_true", help="probe epoch 0 (the initialisation) too"
    )
    evaluate.add_argument(
        "--probes",
        default="linear",
        metavar="FAMILIES",
        help="probe families, comma-separated: linear (ridge / softmax, the paper's; the "
        "default) and gbm (gradient-boosted trees, LightGBM; columns marked [gbm])",
    )
    add_permutation_average_argument(evaluate, 1, "1: the plain latent only")
    add_weight_limit_argument(evaluate, "the runs' limit, else none")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bars")
    evaluate.set_defaults(run=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    from hyperrep.pipeline import evaluate_zoo
    from hyperrep.probes import probe_families
    from hyperrep.representation import load_run

    runs = [load_run(s) for s in args.sources if s != "baselines"]
    if args.ood_models is not None and args.ood is None:
        raise HyperrepError("--ood-models needs --ood ZOO2")
    ood = open_zoo_models(args.ood, args.ood_models) if args.ood is not None else None
    zoo = open_zoo_models(args.zoo, args.models)
    tables = evaluate_zoo(
        zoo,
        runs,
        args.out,
        ood=ood,
        umap_points=args.umap_points,
        include_init=args.include_init,
        progress=not args.quiet,
        permutations=args.permutation_average,
        families=probe_families(args.probes),
        weight_limit=args.weight_limit,
    )
    print_tables(tables, args.out)
    print(f"\nreport written to {args.out}")
    return 0


def print_tables(tables: dict, folder: Path | None = None) -> None:
    """Print the ID (and OOD) R² tables of a report, with the split sizes saved in
    `folder` and a warning where a test split is too small to trust."""
    meta = {}
    if folder is not None and (folder / "results.json").is_file():
        meta = json.loads((folder / "results.json").read_text())
    for domain, table in tables.items():
        print(
            f"\n{'In distribution' if domain == 'id' else 'Out of distribution'} "
            f"(R² in %, accuracy in % for Act/Init/Opt; Rec: reconstruction R²), "
            f"test split:"
        )
        print(table.to_string(na_rep=""))
        sizes = meta.get("ood_split_models" if domain == "ood" else "split_models")
        if sizes:
            print(
                f"models per split (train / val / test): {sizes['train']} / {sizes['val']} / "
                f"{sizes['test']}"
            )
            from hyperrep.probes import split_warning

            left_out = meta.get("ood_over_limit" if domain == "ood" else "over_limit")
            if meta.get("weight_limit") is not None:
                print(
                    f"checkpoints left out for a |weight| above {meta['weight_limit']:g}: "
                    f"{left_out}"
                )
            warning = split_warning(sizes, meta["ood" if domain == "ood" else "zoo"])
            if warning:
                print(warning)
