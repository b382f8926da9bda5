from __future__ import annotations

import json

import pandas as pd
import pytest

from hyperrep import HyperrepError
from hyperrep.cli.main import main
from hyperrep.pipeline import RECIPES, Recipe, RunRecipe, reproduce
from hyperrep.representation import load_run

SMALL_ZOO = {"n_models": 16, "epochs": 3, "dataset_options": {"n_train": 256, "n_test": 128}}
SMALL_MODEL = {"d_model": 32, "d_ff": 64}


@pytest.mark.slow
def test_recipe_runs_end_to_end_and_resumes(tmp_path):
    recipe = Recipe(
        "tetris-seed",
        (RunRecipe("ed", 2, 1, model=SMALL_MODEL), RunRecipe("ecd", 5, 1, model=SMALL_MODEL)),
        SMALL_ZOO,
        ood_zoo="tetris-seed",
        ood_options={**SMALL_ZOO, "dataset_options": {"n_train": 256, "n_test": 128, "seed": 1}},
        umap_points=0,
        permutation_average=2,
    )
    lines: list[str] = []
    tables = reproduce(recipe, tmp_path, progress=False, log=lines.append)
    assert set(tables) == {"id", "ood"}
    assert list(tables["id"].columns) == [
        "W",
        "s(W)",
        "s(W) tensor",
        "ED c=2",
        "ED c=2 avg2",
        "E_cD c=5",
        "E_cD c=5 avg2",
    ]
    assert {"Eph", "Acc", "GGap", "F_c0"} <= set(tables["id"].index)
    rec = tables["id"].loc["Rec"]
    assert rec[["W", "s(W)"]].isna().all()
    assert rec[["ED c=2", "E_cD c=5"]].notna().all() and (rec.dropna() <= 100).all()
    assert rec[["ED c=2 avg2", "E_cD c=5 avg2"]].isna().all()  # no decoder reads an average
    assert tables["ood"].loc["Rec"].notna().sum() == 2
    assert load_run(tmp_path / "runs" / "ed-c2").config.model.latent_dim == 50
    assert load_run(tmp_path / "runs" / "ecd-c5").config.model.latent_dim == 20
    assert (tmp_path / "report" / "results.md").is_file()
    assert (tmp_path / "report" / "results_ood.csv").is_file()
    assert set(json.loads((tmp_path / "timings.json").read_text())) == {
        "zoo tetris-seed",
        "run ed-c2",
        "run ecd-c5",
        "report",
    }

    weights = tmp_path / "runs" / "ed-c2" / "model.safetensors"
    stamp = weights.stat().st_mtime_ns
    again = reproduce(recipe, tmp_path, progress=False, log=lines.append)
    assert weights.stat().st_mtime_ns == stamp  # finished steps are not redone
    pd.testing.assert_frame_equal(again["id"], tables["id"])


def test_stored_recipes():
    assert {"demo", "tetris-seed", "tetris-hyp", "mnist-seed", "fashion-seed"} <= set(
        RECIPES.names()
    )
    table5 = RECIPES.create("tetris-seed")
    assert {(r.variant, r.compression) for r in table5.runs} == {
        (v, c) for v in ("ec", "ed", "ecd") for c in (2, 3, 5)
    }
    mnist = RECIPES.create("mnist-seed")
    assert mnist.ood_zoo == "fashion-seed"
    assert mnist.permutation_average == RECIPES.create("fashion-seed").permutation_average > 1
    small = mnist.scaled(n_models=40, run_epochs=3)
    assert small.zoo_options["n_models"] == small.ood_options["n_models"] == 40
    assert [r.epochs for r in small.runs] == [3] * len(mnist.runs)
    assert [r.compression for r in small.runs] == [r.compression for r in mnist.runs]
    assert mnist.scaled() == mnist
    with pytest.raises(HyperrepError, match="unknown variant"):
        RunRecipe("vae", 2, 1)


@pytest.mark.parametrize("name", RECIPES.names())
def test_every_recipe_names_zoo_presets_and_builds_its_run_configs(name):
    from types import SimpleNamespace

    from hyperrep.arch import create_architecture
    from hyperrep.pipeline._reproduce import run_config
    from hyperrep.zoo import create_zoo_config

    recipe = RECIPES.create(name)
    if recipe.ood_zoo is not None:
        create_zoo_config(recipe.ood_zoo, **recipe.ood_options)
    config = create_zoo_config(recipe.zoo, **recipe.zoo_options)
    arch = create_architecture(config.architecture)
    for run in recipe.runs:
        built = run_config(run, SimpleNamespace(config=config, architecture=arch))
        assert built.train.variant == run.variant and built.train.epochs == run.epochs
        assert built.model.latent_dim == round(arch.n_params / run.compression)
        assert all(getattr(built.train, k) == v for k, v in run.train.items())


def test_the_mnist_hyp_recipes_probe_their_own_zoos():
    for preset in (
        "mnist-hyp-1-fix-seed",
        "mnist-hyp-1-rand-seed",
        "mnist-hyp-5-fix-seed",
        "mnist-hyp-5-rand-seed",
    ):
        recipe = RECIPES.create(preset)
        assert recipe.zoo == preset and recipe.ood_zoo is None
        assert [r.variant for r in recipe.runs] == ["ecd"]
        # exploded checkpoints out, as the authors' loader (weight_threshold=5)
        assert [r.train["weight_limit"] for r in recipe.runs] == [5.0]


def test_reproduce_rejects_unknown_recipe_in_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["reproduce", "no-such-recipe"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
