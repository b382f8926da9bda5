"""How much of a probe table's difference is the draw of test models? A model bootstrap.

A report's R^2 values come from the few models of its test split (10 on a 96-model zoo),
and the checkpoints of one model are not independent. This resamples the test models
with replacement (all epochs of a drawn model together), recomputes each regression
task's R^2 (predictions.parquet) and each categorical task's accuracy
(classifications.parquet, in reports written since 2026-12-05) for two columns of a
`hyperrep evaluate` report on every draw, and prints the difference A - B as measured
with its 5th-95th percentile interval.
A difference whose interval holds 0 is not settled by this test split.

    python experiments/bootstrap_models.py REPORT --a "E_cD c=3.52" --b "s(W)"
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """1 - residual / total sum of squares (sklearn's r2_score, written out)."""
    total = np.sum((y_true - y_true.mean()) ** 2)
    return float(1 - np.sum((y_true - y_pred) ** 2) / total) if total > 0 else float("nan")


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of labels predicted right."""
    return float(np.mean(y_true == y_pred))


def bootstrap(
    rows: pd.DataFrame,
    a: str,
    b: str,
    draws: int,
    seed: int,
    score: Callable[[np.ndarray, np.ndarray], float] = r2,
) -> tuple[float, float, float]:
    """(A - B as measured, 5th and 95th percentile over model draws), the score in %."""
    by_model = {
        (rep, m): g for (rep, m), g in rows.groupby(["representation", "model_index"], sort=True)
    }
    models = np.unique(rows["model_index"])

    def difference(chosen: np.ndarray) -> float:
        scores = []
        for rep in (a, b):
            picked = pd.concat([by_model[(rep, m)] for m in chosen])
            scores.append(score(picked["y_true"].to_numpy(), picked["y_pred"].to_numpy()))
        return 100 * (scores[0] - scores[1])

    rng = np.random.default_rng(seed)
    spread = [difference(rng.choice(models, len(models))) for _ in range(draws)]
    low, high = np.nanpercentile(spread, [5, 95])
    return difference(models), float(low), float(high)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", help="a `hyperrep evaluate` report folder")
    parser.add_argument("--a", required=True, help="column A, e.g. 'E_cD c=3.52'")
    parser.add_argument("--b", default="s(W)", help="column B (default s(W))")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    report = Path(args.report)
    files = [("predictions.parquet", "R^2", r2), ("classifications.parquet", "accuracy", accuracy)]
    print(f"{args.draws} draws; scores in %")
    print(f"{'task':8} {'A - B':>7}  {'5%':>7} {'95%':>7}")
    for name, unit, score in files:
        if not (report / name).is_file():
            print(f"({name} absent: no {unit} intervals; the report predates it)")
            continue
        frame = pd.read_parquet(report / name)
        frame = frame[(frame["domain"] == "id") & (frame["family"] == "linear")]
        missing = {args.a, args.b} - set(frame["representation"])
        if missing:
            raise SystemExit(f"no predictions for {sorted(missing)} in {report / name}")
        frame = frame[frame["representation"].isin([args.a, args.b])]
        for task, rows in frame.groupby("task", sort=False):
            measured, low, high = bootstrap(rows, args.a, args.b, args.draws, args.seed, score)
            models = rows["model_index"].nunique()
            print(
                f"{task:8} {measured:7.1f}  {low:7.1f} {high:7.1f}  ({unit}, {models} test models)"
            )


if __name__ == "__main__":
    main()
