import json

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from hyperrep import HyperrepError
from hyperrep.cli.main import main
from hyperrep.representation import (
    ModelConfig,
    RunConfig,
    TrainConfig,
    load_run,
    train_representation,
)

SMALL = ModelConfig(d_model=32, n_heads=2, n_blocks=1, d_ff=64, latent_dim=20, head_layers=2,
                    head_width=16, head_out=8)  # fmt: skip


def config(**train):
    return RunConfig(SMALL, TrainConfig(**{"epochs": 3, "batch_size": 16, "lr": 3e-3, **train}))


@pytest.mark.parametrize("variant", ["ec", "ed", "ecd"])
def test_training_loss_goes_down(tiny_zoo, tmp_path, variant):
    history = train_representation(tiny_zoo, config(variant=variant, epochs=6), tmp_path / "r",
                                   progress=False)  # fmt: skip
    losses = [h["train_loss"] for h in history]
    assert losses[-1] < losses[0]
    if variant != "ec":
        assert history[-1]["val_r2"] > history[0]["val_r2"]
    run = load_run(tmp_path / "r")
    assert run.model.has_decoder == (variant != "ec")


class Stop(Exception):
    pass


def test_resume_equals_uninterrupted(tiny_zoo, tmp_path):
    cfg = config(variant="ecd")
    train_representation(tiny_zoo, cfg, tmp_path / "whole", progress=False)

    def stop_after_first(epoch):
        if epoch == 1:
            raise Stop

    with pytest.raises(Stop):
        train_representation(tiny_zoo, cfg, tmp_path / "part", progress=False,
                             on_epoch=stop_after_first)  # fmt: skip
    # a crash right after the commit point: the readable history copy was never written
    (tmp_path / "part" / "history.json").unlink()
    train_representation(tiny_zoo, cfg, tmp_path / "part", progress=False)
    whole = load_file(str(tmp_path / "whole" / "last.safetensors"))
    part = load_file(str(tmp_path / "part" / "last.safetensors"))
    assert whole.keys() == part.keys()
    for key in whole:
        assert torch.equal(whole[key], part[key]), key
    assert json.loads((tmp_path / "whole" / "history.json").read_text()) == \
        json.loads((tmp_path / "part" / "history.json").read_text())  # fmt: skip


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
    args = ["train", str(tiny_zoo.path), "--out", str(run_dir), "--variant", "ed",
            "--compression", "5", "--epochs", "2", "--d-model", "32", "--quiet"]  # fmt: skip
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
    np.testing.assert_allclose(run.encode(weights)[0].numpy(), row[latent_cols].to_numpy(
        dtype=np.float32), atol=1e-6)  # fmt: skip


def test_embed_of_a_missing_run_is_one_line(tmp_path, capsys):
    assert main(["embed", str(tmp_path), str(tmp_path), "--out", str(tmp_path / "x.parquet")]) == 2
    assert "not a hyperrep run" in capsys.readouterr().err


def test_canonical_reconstruction_target(tiny_zoo, tmp_path):
    from hyperrep.weights import canonicalize

    history = train_representation(tiny_zoo, config(variant="ed", recon_target="canonical"),
                                   tmp_path / "r", progress=False)  # fmt: skip
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
    args = ["train", str(tiny_zoo.path), "--out", str(tmp_path / "r"), "--variant", "ed",
            "--compression", "5", "--epochs", "1", "--d-model", "32", "--quiet",
            "--include-init"]  # fmt: skip
    assert main(args) == 0
    assert load_run(tmp_path / "r").config.train.include_init is True
