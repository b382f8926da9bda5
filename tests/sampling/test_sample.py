"""`hyperrep sample` end to end on a Tetris run: the files load safely into the zoo's
network, the same seed gives the same files, the accuracies it reports equal a plain
forward pass, and the samplers draw what they say (checked against closed forms)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from hyperrep.arch import to_module, vector_to_state_dict
from hyperrep.cli.main import main
from hyperrep.representation import (
    load_run,
)
from hyperrep.sampling import sample_kde, sample_models, sample_uniform, scott_bandwidth
from hyperrep.zoo import load_zoo_data


@pytest.fixture(scope="module")
def run_folder(tiny_ecd_run):
    return tiny_ecd_run


def _sample(run_folder, tiny_zoo, out, *extra):
    argv = ["sample", str(run_folder), str(tiny_zoo.path), "--n", "6", "--out", str(out)]
    return main([*argv, *extra])


def test_samples_load_into_the_network_and_report_its_accuracy(
    run_folder, tiny_zoo, tmp_path, capsys
):
    out = tmp_path / "s"
    assert _sample(run_folder, tiny_zoo, out, "--method", "kde30", "--seed", "3") == 0
    assert "test accuracy as sampled" in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["method"] == "kde30" and manifest["seed"] == 3 and manifest["n"] == 6
    assert manifest["source"]["percentile"] == 70 and manifest["source"]["epochs"] == [1, 2, 3, 4]
    arch = tiny_zoo.architecture
    data = load_zoo_data(tiny_zoo.config, arch, None, "cpu")
    for entry in manifest["samples"]:
        state = torch.load(out / f"{entry['name']}.pt", weights_only=True)
        same = load_file(str(out / f"{entry['name']}.safetensors"))
        assert state.keys() == same.keys() == to_module(arch).state_dict().keys()
        for key in state:
            assert torch.equal(state[key], same[key])
        model = to_module(arch, manifest["activation"])
        model.load_state_dict(state)
        with torch.no_grad():
            predicted = model.eval()(data.x_test).argmax(1)
        accuracy = (predicted == data.y_test).double().mean().item()
        assert entry["test_acc"] == pytest.approx(accuracy, abs=1e-12)
        assert len(entry["latent"]) == load_run(run_folder).config.model.latent_dim


def test_the_same_seed_gives_the_same_files(run_folder, tiny_zoo, tmp_path):
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        assert (
            _sample(run_folder, tiny_zoo, tmp_path / name, "--seed", seed, "--method", "kde") == 0
        )
    a, b, c = (tmp_path / n / "sample-0002.safetensors" for n in "abc")
    assert a.read_bytes() == b.read_bytes() and a.read_bytes() != c.read_bytes()


def test_the_source_is_the_top_of_the_training_split(run_folder, tiny_zoo):
    run = load_run(run_folder)
    every = sample_models(run, tiny_zoo, 2, method="kde", epochs=[4])
    top = sample_models(run, tiny_zoo, 2, method="kde", epochs=[4], percentile=50.0)
    assert every.source["epochs"] == [4] and every.source["checkpoints"] == every.source["models"]
    assert top.source["checkpoints"] <= (every.source["checkpoints"] + 1) // 2 + 1
    assert top.source["test_acc_threshold"] is not None


def test_uniform_samples_fill_the_latent_box():
    rng = np.random.default_rng(0)
    source = rng.normal(size=(50, 3)) * [1.0, 2.0, 0.5]
    drawn = sample_uniform(source, 20_000, np.random.default_rng(1))
    low, high = source.min(0), source.max(0)
    assert (drawn >= low).all() and (drawn <= high).all()
    np.testing.assert_allclose(drawn.mean(0), (low + high) / 2, atol=0.03 * (high - low).max())


def test_kde_samples_have_the_kde_mean_and_variance():
    """A 1-D Gaussian KDE with bandwidth h around points x_i: mean = mean(x), variance =
    var(x) (population) + h^2; h is Scott's std * n^(-1/5), as scipy computes it."""
    from scipy.stats import gaussian_kde

    rng = np.random.default_rng(0)
    source = rng.normal(size=(40, 2)) * [1.0, 3.0]
    h = scott_bandwidth(source)
    for d in range(2):  # scipy's factor times the sample std is the same bandwidth
        kde = gaussian_kde(source[:, d])
        assert h[d] == pytest.approx(np.sqrt(kde.covariance[0, 0]), rel=1e-12)
    drawn = sample_kde(source, 200_000, np.random.default_rng(2))
    np.testing.assert_allclose(drawn.mean(0), source.mean(0), atol=0.02 * source.std(0).max())
    np.testing.assert_allclose(drawn.var(0), source.var(0) + h**2, rtol=0.02)


def test_bad_requests_are_one_line(run_folder, tiny_zoo, tmp_path, capsys):
    cases = [
        (("--method", "gan"), "unknown sampling method 'gan'"),
        (("--percentile", "100"), "--percentile must be in [0, 100)"),
        (("--epochs", "9"), "no training checkpoints"),
    ]
    for extra, message in cases:
        assert _sample(run_folder, tiny_zoo, tmp_path / "x", *extra) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err


def test_decoded_accuracy_is_measured_against_the_originals(run_folder, tiny_zoo, tmp_path, capsys):
    from hyperrep.sampling import decoded_accuracy

    table = decoded_accuracy(load_run(run_folder), tiny_zoo)
    stored = tiny_zoo.properties.set_index(["model_index", "epoch"])["test_acc"]
    for row in table.itertuples():  # the originals' accuracy, recomputed, is the zoo's
        assert row.test_acc == pytest.approx(stored.loc[(row.model_index, row.epoch)], abs=1e-9)
    first = np.array(tiny_zoo.weights[int(table.model_index[0]), int(table.epoch[0])])
    decoded = load_run(run_folder).reconstruct(torch.from_numpy(first)[None])[0]
    arch = tiny_zoo.architecture
    data = load_zoo_data(tiny_zoo.config, arch, None, "cpu")
    model = to_module(arch, "tanh")
    model.load_state_dict(vector_to_state_dict(arch, decoded))
    with torch.no_grad():
        accuracy = (model.eval()(data.x_test).argmax(1) == data.y_test).double().mean().item()
    assert table.decoded_acc[0] == pytest.approx(accuracy, abs=1e-12)
    out = tmp_path / "decoded.csv"
    argv = ["decode", str(run_folder), str(tiny_zoo.path), "--out", str(out)]
    assert main(argv) == 0 and "decoded - original, median" in capsys.readouterr().out
    assert len(pd.read_csv(out)) == len(table)


def test_finetuning_equals_each_sample_trained_alone(
    run_folder, tiny_zoo, tmp_path, capsys, assert_plot
):
    """The population fine-tune against torch.nn training of each sample by itself
    (`train_single` from the same initial weights and seed), epoch by epoch."""
    from hyperrep.population import train_single
    from hyperrep.sampling import evaluate_samples, finetune_samples, finetune_specs

    samples = sample_models(load_run(run_folder), tiny_zoo, 3, method="kde", seed=1)
    evaluate_samples(samples, tiny_zoo)
    accuracy = finetune_samples(samples, tiny_zoo, 2)
    assert accuracy.shape == (3, 3)
    np.testing.assert_array_equal(accuracy[:, 0], samples.test_acc)
    config, arch = tiny_zoo.config, tiny_zoo.architecture
    data = load_zoo_data(config, arch, None, "cpu")
    for i, spec in enumerate(finetune_specs(tiny_zoo, 3, samples.activation)):
        alone = train_single(
            arch,
            spec,
            data,
            2,
            config.batch_size,
            initial=torch.from_numpy(samples.weights[i]),
            train_metrics=config.train_metrics,
            flush_subnormals=config.flush_subnormals,
        )
        np.testing.assert_array_equal(accuracy[i], [r.test_acc[0] for r in alone])
    out = tmp_path / "ft"
    assert _sample(run_folder, tiny_zoo, out, "--finetune", "2") == 0
    printed = capsys.readouterr().out
    assert "samples fine-tuned (median)" in printed and "zoo's test models" in printed
    manifest = json.loads((out / "manifest.json").read_text())
    assert all(len(e["finetuned_test_acc"]) == 3 for e in manifest["samples"])
    assert_plot(out / "finetuning.png")


def test_samples_fine_tune_on_another_zoo_of_their_architecture(
    run_folder, tiny_zoo, tmp_path, capsys
):
    """Transfer: samples of one zoo trained with another zoo's recipe and data, equal to
    each sample trained alone there; that zoo's test models are the printed baseline."""
    from hyperrep.population import train_single
    from hyperrep.sampling import finetune_samples, finetune_specs
    from hyperrep.zoo import create_zoo, create_zoo_config

    other_config = create_zoo_config(
        "tetris-seed",
        n_models=20,
        epochs=2,
        dataset_options={"n_train": 192, "n_test": 96, "seed": 7},
    )
    other = create_zoo(other_config, tmp_path / "other", progress=False)
    samples = sample_models(load_run(run_folder), tiny_zoo, 2, method="kde", seed=3)
    accuracy = finetune_samples(samples, other, 2)
    data = load_zoo_data(other.config, other.architecture, None, "cpu")
    assert data.x_test.shape[0] == 96  # the other zoo's test set
    for i, spec in enumerate(finetune_specs(other, 2, samples.activation)):
        alone = train_single(
            other.architecture, spec, data, 2, other.config.batch_size,
            initial=torch.from_numpy(samples.weights[i]),
            train_metrics=other.config.train_metrics,
            flush_subnormals=other.config.flush_subnormals,
        )  # fmt: skip
        np.testing.assert_array_equal(accuracy[i], [r.test_acc[0] for r in alone])
    out = tmp_path / "transfer"
    args = ("--n", "2", "--finetune", "1", "--finetune-on", str(other.path))
    assert _sample(run_folder, tiny_zoo, out, *args) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["finetuned_on"]["zoo"] == str(other.path)
    assert main(["sample", str(run_folder), str(tiny_zoo.path), "--out", str(tmp_path / "x"),
                 "--finetune-on", str(other.path)]) == 2  # fmt: skip
    assert "--finetune-on needs --finetune" in capsys.readouterr().err


def test_finetune_device_is_checked_before_training(run_folder, tiny_zoo, tmp_path, capsys):
    """`sample --finetune E --device D` trains where D says; a device PyTorch does not
    know is refused in one line before anything is sampled or written."""
    samples = sample_models(load_run(run_folder), tiny_zoo, 2, method="kde", seed=3)
    cpu = finetune_samples_on(samples, tiny_zoo, "cpu")
    assert cpu.shape == (2, 2)
    np.testing.assert_array_equal(cpu, finetune_samples_on(samples, tiny_zoo, "cpu"))
    out = tmp_path / "bad-device"
    args = ("--n", "2", "--finetune", "1", "--device", "tpu")
    assert _sample(run_folder, tiny_zoo, out, *args) == 2
    err = capsys.readouterr().err
    assert "device 'tpu' is not supported" in err or "unknown device 'tpu'" in err, err
    assert "Traceback" not in err
    assert not out.exists()


def finetune_samples_on(samples, zoo, device):
    from hyperrep.sampling import finetune_samples

    return finetune_samples(samples, zoo, 1, device=device)
