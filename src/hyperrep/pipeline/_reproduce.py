"""Run a recipe end to end: zoo(s) -> hyper-representations -> probe report."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pandas as pd

from hyperrep.pipeline._evaluate import evaluate_zoo
from hyperrep.pipeline._recipes import Recipe, RunRecipe
from hyperrep.representation import (
    RunConfig,
    TrainedRun,
    load_run,
    representation_preset,
    train_representation,
)
from hyperrep.zoo import Zoo, create_zoo, create_zoo_config


def run_config(recipe: RunRecipe, zoo: Zoo) -> RunConfig:
    """The zoo's representation preset with the recipe's variant, compression and epochs."""
    config = representation_preset(zoo.config.preset)
    config = replace(config, model=replace(config.model, **recipe.model))
    config = config.with_compression(zoo.architecture.n_params, recipe.compression)
    train = replace(config.train, variant=recipe.variant, epochs=recipe.epochs, **recipe.train)
    return replace(config, train=train)


def reproduce(
    recipe: Recipe,
    out: str | Path,
    *,
    data_dir: str | Path | None = None,
    device: str = "cpu",
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, pd.DataFrame]:
    """Build the recipe's zoo(s), train its runs and write the report under `out`.

    Every step resumes from what is already in `out`, so an interrupted call is
    finished by calling it again. Returns the report's R² tables by domain;
    `out/timings.json` records the wall time of each step.
    """
    out = Path(out)
    timings: dict[str, float] = {}
    zoo = _zoo(
        recipe.zoo, recipe.zoo_options, out / "zoo", data_dir, device, progress, log, timings
    )
    ood = None
    if recipe.ood_zoo is not None:
        ood = _zoo(
            recipe.ood_zoo,
            recipe.ood_options,
            out / "ood-zoo",
            data_dir,
            device,
            progress,
            log,
            timings,
        )
    runs: list[TrainedRun] = []
    for i, run_recipe in enumerate(recipe.runs, 1):
        folder = out / "runs" / run_recipe.name
        log(
            f"\nrun {i}/{len(recipe.runs)}: {run_recipe.variant} at c = "
            f"{run_recipe.compression:.3g}, {run_recipe.epochs} epochs -> {folder}"
        )
        start = time.perf_counter()
        train_representation(
            zoo, run_config(run_recipe, zoo), folder, device=device, progress=progress
        )
        timings[f"run {run_recipe.name}"] = time.perf_counter() - start
        runs.append(load_run(folder, device=device))
    log(f"\nlinear probes on W, s(W) and {len(runs)} representation(s) -> {out / 'report'}")
    start = time.perf_counter()
    tables = evaluate_zoo(
        zoo,
        runs,
        out / "report",
        ood=ood,
        umap_points=recipe.umap_points,
        progress=progress,
        permutations=recipe.permutation_average,
    )
    timings["report"] = time.perf_counter() - start
    (out / "timings.json").write_text(json.dumps(timings, indent=1) + "\n")
    return tables


def _zoo(
    preset: str,
    options: dict,
    folder: Path,
    data_dir: str | Path | None,
    device: str,
    progress: bool,
    log: Callable[[str], None],
    timings: dict[str, float],
) -> Zoo:
    config = create_zoo_config(preset, **options)
    log(f"zoo {preset}: {len(config.models())} models x {config.epochs} epochs -> {folder}")
    start = time.perf_counter()
    zoo = create_zoo(config, folder, device=device, data_dir=data_dir, progress=progress)
    timings[f"zoo {preset}"] = time.perf_counter() - start
    return zoo
