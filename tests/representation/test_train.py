import json

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from hyperrep import HyperrepError
from hyperrep.cli.main import main
from hyperrep.representation import (
    RunConfig,
    TrainConfig,
    TransformerConfig,
    load_run,
    reconstruction_loss,
    train_representation,
)

SMALL = TransformerConfig(
    d_model=32,
    n_heads=2,
    n_blocks=1,
    d_ff=64,
    latent_dim=20,
    head_layers=2,
    head_width=16,
    head_out=8,
)


def config(**train):
    return RunConfig(SMALL, TrainConfig(**{"epochs": 3, "batch_size": 16, "lr": 3e-3, **train}))


@pytest.mark.parametrize("variant", ["ec", "ed", "ecd"])
def test_training_loss_goes_down(tiny_zoo, tmp_path, variant):
    history = train_representation(
        tiny_zoo, config(variant=variant, epochs=6), tmp_path / "r", progress=False
    )
    losses = [h["train_loss"] for h in history]
    assert losses[-1] < losses[0]
    if variant != "ec":
        assert history[-1]["train_reconstruction"] < history[0]["train_reconstruction"]
    if variant == "ed":
        assert history[-1]["val_r2"] > history[0]["val_r2"]
    run = load_run(tmp_path / "r")
    assert run.model.has_decoder == (variant != "ec")


class Stop(Exception):
    pass


def test_a_growing_zoo_is_learned_from_its_first_finished_models(tmp_path, capsys):
    from hyperrep.zoo import create_zoo, create_zoo_config

    zoo_config = create_zoo_config(
        "tetris-seed", n_models=20, epochs=2, dataset_options={"n_train": 128, "n_test": 64}
    )

    def stop(chunk, epoch):
        if chunk == 2:
            raise Stop

    with pytest.raises(Stop):
        create_zoo(zoo_config, tmp_path / "zoo", population_size=8, progress=False, on_epoch=stop)
    args = [
        "train",
        str(tmp_path / "zoo"),
        "--out",
        str(tmp_path / "run"),
        "--epochs",
        "1",
        "--d-model",
        "16",
        "--d-ff",
        "32",
        "--heads",
        "2",
        "--blocks",
        "1",
        "--quiet",
    ]
    assert main(args) == 2  # the whole zoo is not finished
    assert "--models N" in capsys.readouterr().err
    assert main([*args, "--models", "17"]) == 2  # model 16 is still training
    assert main([*args, "--models", "16"]) == 0
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["zoo"]["models"] == 16
    assert main([*args, "--models", "12"]) == 2  # resuming with other models is refused
    assert "other settings" in capsys.readouterr().err
    report = tmp_path / "report"
    assert (
        main(
            [
                "evaluate",
                str(tmp_path / "run"),
                str(tmp_path / "zoo"),
                "--models",
                "16",
                "--out",
                str(report),
                "--umap-points",
                "0",
                "--quiet",
            ]
        )
        == 0
    )
    sizes = json.loads((report / "results.json").read_text())["split_models"]
    assert sum(sizes.values()) == 16
    assert (
        main(
            [
                "evaluate",
                "baselines",
                str(tmp_path / "zoo"),
                "--models",
                "16",
                "--ood",
                str(tmp_path / "zoo"),
                "--ood-models",
                "8",
                "--out",
                str(report),
                "--umap-points",
                "0",
                "--quiet",
            ]
        )
        == 0
    )
    sizes = json.loads((report / "results.json").read_text())["ood_split_models"]
    assert sum(sizes.values()) == 8
    assert (
        main(
            [
                "evaluate",
                "baselines",
                str(tmp_path / "zoo"),
                "--ood-models",
                "8",
                "--out",
                str(report),
                "--quiet",
            ]
        )
        == 2
    )
    assert "--ood-models needs --ood" in capsys.readouterr().err


def test_resume_equals_uninterrupted(tiny_zoo, tmp_path):
    cfg = config(variant="ecd")
    train_representation(tiny_zoo, cfg, tmp_path / "whole", progress=False)

    def stop_after_first(epoch):
        if epoch == 1:
            raise Stop

    with pytest.raises(Stop):
        train_representation(
            tiny_zoo, cfg, tmp_path / "part", progress=False, on_epoch=stop_after_first
        )
    # a crash right after the commit point: the readable history copy was never written
    (tmp_path / "part" / "history.json").unlink()
    train_representation(tiny_zoo, cfg, tmp_path / "part", progress=False)
    whole = load_file(str(tmp_path / "whole" / "last.safetensors"))
    part = load_file(str(tmp_path / "part" / "last.safetensors"))
    assert whole.keys() == part.keys()
    for key in whole:
        assert torch.equal(whole[key], part[key]), key
    assert json.loads((tmp_path / "whole" / "history.json").read_text()) == json.loads(
        (tmp_path / "part" / "history.json").read_text()
    )


def test_other_settings_in_the_same_folder_are_refused(tiny_zoo, tmp_path):
    train_representation(tiny_zoo, config(epochs=1), tmp_path / "r", progress=False)
    with pytest.raises(HyperrepError, match="other settings"):
        train_representation(tiny_zoo, config(epochs=2, lr=1e-2), tmp_path / "r", progress=False)


def test_normalizer_is_fitted_on_the_training_split_only(tiny_zoo, tmp_path):
    from hyperrep.representation import load_checkpoints

    train_representation(tiny_zoo, config(epochs=1), tmp_path / "r", progress=False)
    run = load_run(tmp_path / "r")
    data = load_checkpoints(tiny_zoo)
    first_layer = data.split("train")[:, :80].double()
    assert float(run.normalizer.mean[0]) == pytest.approx(float(first_layer.mean()), rel=1e-5)
    everything = data.weights[:, :80].double()
    assert float(run.normalizer.mean[0]) != pytest.approx(float(everything.mean()), rel=1e-5)


def test_train_and_embed_commands(tiny_zoo, tmp_path, capsys):
    run_dir = tmp_path / "run"
    args = [
        "train",
        str(tiny_zoo.path),
        "--out",
        str(run_dir),
        "--variant",
        "ed",
        "--compression",
        "5",
        "--epochs",
        "2",
        "--d-model",
        "32",
        "--quiet",
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "val_r2" in printed and "test reconstruction R²" in printed
    out = tmp_path / "latents.parquet"
    assert main(["embed", str(run_dir), str(tiny_zoo.path), "--out", str(out)]) == 0
    table = pd.read_parquet(out)
    latent_cols = [c for c in table.columns if c.startswith("z") and c[1:].isdigit()]
    assert len(latent_cols) == 20  # 100 parameters / c = 5
    assert len(table) == 20 * 5 and set(table["split"]) == {"train", "val", "test"}
    assert {"test_acc", "epoch", "seed", "ggap"} <= set(table.columns)
    # the embedding is the encoder's latent of the unaugmented weights
    run = load_run(run_dir)
    row = table.iloc[7]
    weights = torch.from_numpy(np.array(tiny_zoo.weights[row.model_index, row.epoch]))[None]
    np.testing.assert_allclose(
        run.encode(weights)[0].numpy(), row[latent_cols].to_numpy(dtype=np.float32), atol=1e-6
    )


def test_embed_of_a_missing_run_is_one_line(tmp_path, capsys):
    assert main(["embed", str(tmp_path), str(tmp_path), "--out", str(tmp_path / "x.parquet")]) == 2
    assert "not a hyperrep run" in capsys.readouterr().err


def test_canonical_reconstruction_target(tiny_zoo, tmp_path):
    from hyperrep.weights import canonicalize

    history = train_representation(
        tiny_zoo, config(variant="ed", recon_target="canonical"), tmp_path / "r", progress=False
    )
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    run = load_run(tmp_path / "r")
    assert run.config.train.recon_target == "canonical"
    # the target is invariant to permuting the input
    from hyperrep.representation._train import Views

    views = Views.from_config(tiny_zoo.architecture, run.config)
    weights = torch.randn(4, 100)
    g = torch.Generator().manual_seed(0)
    _, target = views(weights, g)
    assert torch.equal(target, canonicalize(tiny_zoo.architecture, weights))


def test_checkpoints_leave_the_initialisation_out_unless_asked(tiny_zoo, tmp_path):
    from hyperrep.representation import RunConfig, load_checkpoints

    default = load_checkpoints(tiny_zoo)
    assert sorted(default.table["epoch"].unique()) == [1, 2, 3, 4]
    assert len(default.table) == 20 * 4 and default.weights.shape[0] == 20 * 4
    with_init = load_checkpoints(tiny_zoo, include_init=True)
    assert sorted(with_init.table["epoch"].unique()) == [0, 1, 2, 3, 4]
    assert len(with_init.table) == 20 * 5
    # a run trained before the option existed saw epoch 0: it reads back as such
    stored = config(epochs=1).to_dict()
    assert RunConfig.from_dict(stored).train.include_init is False
    del stored["train"]["include_init"]
    assert RunConfig.from_dict(stored).train.include_init is True
    args = [
        "train",
        str(tiny_zoo.path),
        "--out",
        str(tmp_path / "r"),
        "--variant",
        "ed",
        "--compression",
        "5",
        "--epochs",
        "1",
        "--d-model",
        "32",
        "--quiet",
        "--include-init",
    ]
    assert main(args) == 0
    assert load_run(tmp_path / "r").config.train.include_init is True


def test_authors_objective_switches(tiny_zoo, tmp_path):
    """Raw weights, the erased input as target, a per-layer pool, retried erasing,
    reduce-on-plateau and selection by validation loss, set from the command line."""
    from hyperrep.representation._train import Views

    out = tmp_path / "r"
    args = [
        "train",
        str(tiny_zoo.path),
        "--out",
        str(out),
        "--compression",
        "5",
        "--epochs",
        "3",
        "--d-model",
        "32",
        "--heads",
        "2",
        "--blocks",
        "1",
        "--d-ff",
        "48",
        "--gamma",
        "0.5",
        "--temperature",
        "0.2",
        "--no-normalize",
        "--recon-target",
        "augmented",
        "--recon-scale",
        "2",
        "--pool",
        "120",
        "--erase-mode",
        "block-retry",
        "--erase-p",
        "1",
        "--schedule",
        "plateau",
        "--selection",
        "val_loss",
        "--quiet",
    ]
    assert main(args) == 0
    run = load_run(out)
    t, m = run.config.train, run.config.model
    assert (m.n_heads, m.n_blocks, m.d_ff, m.d_model) == (2, 1, 48, 32)
    assert (t.gamma, t.temperature, t.normalize, t.recon_target, t.recon_scale) == (
        0.5,
        0.2,
        False,
        "augmented",
        2.0,
    )
    assert (t.permutation_pool, t.erase_mode, t.schedule, t.selection) == (
        120,
        "block-retry",
        "plateau",
        "val_loss",
    )
    assert torch.equal(run.normalizer.std, torch.ones(100))
    # the reconstruction target is the encoder's input, erasures included
    views = Views.from_config(tiny_zoo.architecture, run.config)
    view, target = views(torch.randn(6, 100), torch.Generator().manual_seed(0))
    assert torch.equal(view, target) and (view == 0).any()
    # the kept model is the epoch with the lowest validation loss
    history = json.loads((out / "history.json").read_text())
    best = min(history, key=lambda h: h["val_loss"])
    kept = load_file(str(out / "model.safetensors"))
    trainer_state = load_file(str(out / "last.safetensors"))
    same_as_last = all(torch.equal(kept[k], trainer_state[k]) for k in kept)
    assert same_as_last == (best is history[-1])
    for h in history:
        expected = 0.5 * h["val_contrastive"] + 0.5 * 2.0 * h["val_reconstruction"]
        assert h["val_loss"] == pytest.approx(expected, rel=1e-5)


def test_reduce_on_plateau_cuts_the_rate_by_0_3_after_patience(tiny_zoo):
    from hyperrep.representation import load_checkpoints
    from hyperrep.representation._train import Trainer

    cfg = config(schedule="plateau", plateau_patience=2, lr=1e-3)
    trainer = Trainer(tiny_zoo.architecture, cfg, load_checkpoints(tiny_zoo), "cpu")
    rates = []
    for loss in [5.0, 4.0, 4.0, 4.0, 4.0, 3.0, 3.0, 3.0, 3.0]:
        trainer._step_plateau(loss)
        rates.append(trainer._lr(0))
    # better, better-equal x3 (third equal > patience 2: cut), better, equal x3 (cut)
    assert rates == pytest.approx([1e-3, 1e-3, 1e-3, 1e-3, 3e-4, 3e-4, 3e-4, 3e-4, 9e-5])


def test_raw_and_standardised_losses_agree_up_to_the_layer_scale(tiny_zoo):
    """On a one-layer scale: MSE of standardised vectors x std^2 = MSE of raw vectors."""
    from hyperrep.representation import Normalizer

    arch = tiny_zoo.architecture
    g = torch.Generator().manual_seed(0)
    raw_target = 0.3 + 2.5 * torch.randn(8, arch.n_params, generator=g)
    raw_pred = raw_target + 0.1 * torch.randn(8, arch.n_params, generator=g)
    norm = Normalizer(torch.full((arch.n_params,), 0.3), torch.full((arch.n_params,), 2.5))
    raw = reconstruction_loss(raw_pred, raw_target)
    standardised = reconstruction_loss(norm.forward(raw_pred), norm.forward(raw_target))
    assert float(standardised) * 2.5**2 == pytest.approx(float(raw), rel=1e-5)


def test_runs_stored_before_the_authors_switches_read_back_as_they_ran():
    stored = config().to_dict()
    for key in ("head_out_norm", "head_per_view", "final_norm"):
        del stored["model"][key]
    del stored["train"]["selection"]
    old = RunConfig.from_dict(stored)
    assert (old.model.head_out_norm, old.model.head_per_view, old.model.final_norm) == (
        False,
        False,
        True,
    )
    assert old.train.selection == "val_r2"


def test_a_kill_between_the_state_and_the_history_copy_is_repaired(tiny_zoo, tmp_path):
    cfg = config(variant="ed", epochs=2)
    out = tmp_path / "r"
    train_representation(tiny_zoo, cfg, out, progress=False)
    full = json.loads((out / "history.json").read_text())
    # the last epoch's commit point was written, the readable copy was not
    (out / "history.json").write_text(json.dumps(full[:1]))
    train_representation(tiny_zoo, cfg, out, progress=False)
    assert json.loads((out / "history.json").read_text()) == full


def test_variants_say_whether_they_decode_and_which_gamma_they_use():
    from hyperrep.representation import TrainConfig, variant

    assert [variant(k).has_decoder for k in ("ec", "ed", "ecd")] == [False, True, True]
    assert [variant(k).label for k in ("ec", "ed", "ecd")] == ["E_c", "ED", "E_cD"]
    assert TrainConfig(variant="ec", gamma=0.3).contrastive_weight == 1.0
    assert TrainConfig(variant="ed", gamma=0.3).contrastive_weight == 0.0
    assert TrainConfig(variant="ecd", gamma=0.3).contrastive_weight == 0.3
    with pytest.raises(HyperrepError, match="unknown variant 'vae'"):
        TrainConfig(variant="vae")


def test_learning_rate_warms_up_then_follows_the_cosine_or_the_plateau_factor():
    import math

    from hyperrep.representation._objective import learning_rate

    t = TrainConfig(lr=1e-3, epochs=4, warmup_epochs=1, schedule="cosine")
    steps = 10  # per epoch: 10 warm-up steps, then 30 of cosine
    assert learning_rate(t, 0, steps) == pytest.approx(1e-4)
    assert learning_rate(t, 9, steps) == pytest.approx(1e-3)
    assert learning_rate(t, 25, steps) == pytest.approx(1e-3 * 0.5 * (1 + math.cos(math.pi / 2)))
    assert learning_rate(t, 40, steps) == pytest.approx(0.0, abs=1e-12)
    plateau = TrainConfig(lr=1e-3, schedule="plateau")
    assert learning_rate(plateau, 123, steps, scale=0.09) == pytest.approx(9e-5)


def test_training_leaves_the_callers_random_stream_alone(tiny_zoo, tmp_path):
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    train_representation(tiny_zoo, config(epochs=1), tmp_path / "r", progress=False)
    assert torch.equal(torch.rand(3), expected)
