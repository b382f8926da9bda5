"""`hyperrep evaluate`: probe W, s(W) and learned representations; tables and plots."""

from __future__ import annotations

import argparse
from pathlib import Path

from hyperrep._errors import HyperrepError


def add_parser(commands: argparse._SubParsersAction) -> None:
    evaluate = commands.add_parser(
        "evaluate", help="predict model characteristics with linear probes",
        description="Fit linear probes on the train split of ZOO for every task and "
        "representation (W, s(W), and the latent of each RUN), score them on the test split "
        "(and on --ood ZOO2's test split), and write tables and plots.",
    )  # fmt: skip
    evaluate.add_argument("sources", nargs="+", metavar="RUN|baselines",
                          help="run folders, or 'baselines' for W and s(W) only")  # fmt: skip
    evaluate.add_argument("zoo", type=Path, metavar="ZOO", help="zoo folder")
    evaluate.add_argument("--out", type=Path, required=True, help="report folder")
    evaluate.add_argument("--ood", type=Path, metavar="ZOO2",
                          help="another zoo of the same architecture to evaluate on")  # fmt: skip
    evaluate.add_argument("--umap-points", type=int, default=3000,
                          help="checkpoints per UMAP plot, 0 for none (default 3000)")  # fmt: skip
    evaluate.set_defaults(run=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    from hyperrep.probes import evaluate_probes, results_table, tasks_for, tau_table, zoo_features
    from hyperrep.report import plot_accuracy_over_epochs, plot_predictions, plot_umaps
    from hyperrep.representation import load_run
    from hyperrep.zoo import open_zoo

    runs = [load_run(s) for s in args.sources if s != "baselines"]
    zoo = open_zoo(args.zoo)
    source = zoo_features(zoo, runs)
    ood = None
    if args.ood is not None:
        other = open_zoo(args.ood)
        if other.architecture != zoo.architecture:
            raise HyperrepError("--ood zoo has another architecture than ZOO")
        ood = zoo_features(other, runs)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise HyperrepError(f"cannot write to {args.out}: {err.strerror or err}") from err
    predictions = evaluate_probes(source, tasks_for(source.table), ood)
    domains = ["id"] + (["ood"] if ood is not None else [])
    for domain in domains:
        table = results_table(predictions, domain).round(1)
        tau = tau_table(predictions, domain).round(3)
        stem = "results" if domain == "id" else "results_ood"
        table.to_csv(args.out / f"{stem}.csv")
        tau.to_csv(args.out / f"{stem}_kendall_tau.csv")
        (args.out / f"{stem}.md").write_text(_markdown(table, tau, zoo, domain, args))
        print(f"\n{'In distribution' if domain == 'id' else 'Out of distribution'} "
              f"(R² in %, accuracy in % for Act/Init/Opt), test split:")  # fmt: skip
        print(table.to_string())
    for name in source.values:
        safe = name.replace(" ", "_").replace("(", "").replace(")", "").replace("=", "")
        plot_predictions(predictions, name, args.out / f"predictions_{safe}.png")
    tables = {zoo.config.preset: source.table}
    if ood is not None:
        tables[f"{open_zoo(args.ood).config.preset} (OOD)"] = ood.table
    plot_accuracy_over_epochs(tables, args.out / "accuracy_over_epochs.png")
    if args.umap_points > 0:
        plot_umaps(source.values, source.table, args.out / "umap.png", args.umap_points)
    print(f"\nreport written to {args.out}")
    return 0


def _markdown(table, tau, zoo, domain: str, args: argparse.Namespace) -> str:
    where = f"{args.zoo}" if domain == "id" else f"{args.zoo} -> {args.ood}"
    lines = [
        f"# Model characteristic prediction: {zoo.config.preset} ({domain.upper()})",
        "",
        f"Probes fitted on the train split of {args.zoo}, evaluated on the test split ({where}).",
        "R² in % for continuous targets, accuracy in % for categorical ones.",
        "",
        _md_table(table),
        "",
        "Kendall's tau:",
        "",
        _md_table(tau),
        "",
    ]
    return "\n".join(lines)


def _md_table(table) -> str:
    header = "| task | " + " | ".join(str(c) for c in table.columns) + " |"
    rule = "| --- |" + " ---: |" * len(table.columns)
    rows = [f"| {idx} | " + " | ".join(f"{v:g}" for v in row) + " |"
            for idx, row in zip(table.index, table.to_numpy(), strict=True)]  # fmt: skip
    return "\n".join([header, rule, *rows])
