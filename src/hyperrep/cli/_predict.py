"""`hyperrep predict`: model characteristics of your own checkpoints, from a report's probes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(commands: argparse._SubParsersAction) -> None:
    predict = commands.add_parser(
        "predict",
        help="predict test accuracy, generalization gap, epoch (and, for HYP "
        "zoos, hyperparameters) of checkpoints with the probes of a report",
    )
    predict.add_argument("report", type=Path, help="a folder written by `hyperrep evaluate`")
    predict.add_argument(
        "checkpoints",
        nargs="+",
        type=Path,
        help="state_dict files (.pt, .pth, .safetensors) or folders",
    )
    predict.add_argument(
        "--representation",
        metavar="NAME",
        help="whose probes to use, e.g. 's(W)' (default: the first learned "
        "representation in the report, else s(W))",
    )
    predict.add_argument(
        "--probes",
        default="linear",
        metavar="FAMILY",
        help="the probe family to predict with: linear (default) or gbm (saved by "
        "`evaluate --probes linear,gbm`)",
    )
    predict.add_argument("--out", type=Path, help="also write the table (.csv or .json)")
    predict.set_defaults(run=run_predict)


def run_predict(args: argparse.Namespace) -> int:
    import pandas as pd

    from hyperrep._errors import HyperrepError
    from hyperrep.probes import predict_checkpoints

    if args.out is not None and args.out.suffix not in (".csv", ".json"):
        raise HyperrepError(f"--out must end in .csv or .json, got {args.out.name}")
    used, rows = predict_checkpoints(
        args.report, args.checkpoints, representation=args.representation, family=args.probes
    )
    table = pd.DataFrame(rows).set_index("checkpoint")
    print(
        f"predicted with the {args.probes} probes on {used} ({args.report}); "
        "± is the probe's test RMSE"
    )
    print(table.to_string(float_format=lambda v: f"{v:.4g}"))
    outside = [row["checkpoint"] for row in rows if row.get("outside_weight_limit")]
    if outside:
        print(
            f"warning: {len(outside)} checkpoint(s) hold a weight above the report's weight "
            f"limit, where the probes never saw a model: {', '.join(outside)}"
        )
    if args.out is not None:
        if args.out.suffix == ".csv":
            table.to_csv(args.out)
        else:
            record = {"representation": used, "probes": args.probes, "rows": rows}
            args.out.write_text(json.dumps(record, indent=2))
        print(f"written to {args.out}")
    return 0
