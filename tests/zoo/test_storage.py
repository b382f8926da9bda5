"""Zoo format: resume, recorded metrics, divergence, memory mapping."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import f1_score

from hyperrep import HyperrepError
from hyperrep.arch import to_module, vector_to_state_dict
from hyperrep.cli._zoo import format_summary
from hyperrep.data import make_tetris
from hyperrep.zoo import ZooConfig, create_zoo, create_zoo_config, open_zoo
from hyperrep.zoo._storage import FORMAT_VERSION

TINY = {"n_train": 256, "n_test": 128}


def tiny_hyp(**overrides):
    """A small TETRIS-HYP: two activation groups, several inits and learning rates."""
    settings = {"n_models": 12, "epochs": 3, "dataset_options": TINY, **overrides}
    return create_zoo_config("tetris-hyp", **settings)


class Interrupted(Exception):
    pass


def interrupt_at(stop_chunk, stop_epoch):
    def on_epoch(chunk, epoch):
        if (chunk, epoch) == (stop_chunk, stop_epoch):
            raise Interrupted

    return on_epoch


@pytest.mark.parametrize("stop", [(0, 0), (1, 2), (2, 3)], ids=["start", "mid-chunk", "chunk-end"])
def test_resume_after_interruption_equals_uninterrupted(tmp_path, stop):
    config = tiny_hyp()
    whole = create_zoo(config, tmp_path / "whole", population_size=4, progress=False)
    with pytest.raises(Interrupted):
        create_zoo(
            config,
            tmp_path / "part",
            population_size=4,
            progress=False,
            on_epoch=interrupt_at(*stop),
        )
    part = open_zoo(tmp_path / "part")
    assert not part.complete and part.summary()["models_done"] < 12
    # a crash may leave garbage wherever nothing durable was recorded yet: the epoch in
    # flight of this chunk, and all of the later chunks
    chunks = part.meta["chunks"]
    raw = np.load(tmp_path / "part" / "weights.npy", mmap_mode="r+")
    raw[chunks[stop[0]], stop[1] + 1 :] = 123.0
    for rows in chunks[stop[0] + 1 :]:
        raw[rows] = 123.0
    raw.flush()
    resumed = create_zoo(config, tmp_path / "part", population_size=4, progress=False)
    assert resumed.complete
    assert np.array_equal(np.asarray(resumed.weights), np.asarray(whole.weights))
    pd.testing.assert_frame_equal(resumed.properties, whole.properties)
    assert len(resumed.properties) == 12 * 4  # no duplicate rows
    assert resumed.properties.groupby(["model_index", "epoch"]).size().max() == 1
    assert not any((tmp_path / "part" / "state").iterdir())


def test_resumed_trainer_continues_bit_for_bit(tmp_path):
    """A trainer restored from its state equals one that never stopped (dropout on)."""
    from hyperrep.arch import create_architecture
    from hyperrep.population import ModelSpec, PopulationTrainer, TrainData

    arch = create_architecture("tetris-mlp")
    data = TrainData.for_arch(arch, make_tetris(**TINY), "cpu")
    specs = [ModelSpec(i, i + 1, "uniform", "adam", "relu", 1e-2, 1e-3, 0.5) for i in range(3)]
    straight = PopulationTrainer(arch, specs, data, 32)
    for _ in range(3):
        straight.train_epoch()
    first = PopulationTrainer(arch, specs, data, 32)
    first.train_epoch()
    second = PopulationTrainer(arch, specs, data, 32)
    second.load_state_dict(first.state_dict())
    for _ in range(2):
        second.train_epoch()
    assert second.epoch == 3
    for a, b in zip(straight.params, second.params, strict=True):
        assert torch.equal(a, b)


def test_recorded_metrics_match_recomputation_from_stored_weights(tmp_path):
    # "full": train metrics are a pass over the training set after the epoch
    config = tiny_hyp(train_metrics="full")
    zoo = create_zoo(config, tmp_path / "z", population_size=6, progress=False)
    data = make_tetris(**TINY)
    arch = zoo.architecture
    table = zoo.properties
    for _, row in table[table["epoch"].isin([0, 3])].iterrows():
        vector = torch.from_numpy(np.array(zoo.weights[row.model_index, row.epoch]))
        model = to_module(arch, row.activation)
        model.load_state_dict(vector_to_state_dict(arch, vector))
        model.eval()
        with torch.no_grad():
            for split in ("train", "test"):
                x = getattr(data, f"x_{split}").reshape(-1, 16)
                y = getattr(data, f"y_{split}")
                logits = model(x)
                acc = (logits.argmax(1) == y).float().mean().item()
                loss = torch.nn.functional.cross_entropy(logits, y).item()
                assert row[f"{split}_acc"] == pytest.approx(acc, abs=1e-6)
                assert row[f"{split}_loss"] == pytest.approx(loss, rel=1e-5)
            f1 = f1_score(
                y.numpy(), logits.argmax(1).numpy(), average=None, labels=range(4), zero_division=0
            )
            np.testing.assert_allclose(
                row[[f"f1_{c}" for c in range(4)]].astype(float), f1, atol=1e-9
            )
        assert row.ggap == pytest.approx(row.train_acc - row.test_acc)


def test_every_model_recorded_with_hyperparameters(tmp_path):
    config = tiny_hyp()
    zoo = create_zoo(config, tmp_path / "z", progress=False)
    table = zoo.properties
    specs = config.models()
    assert len(table) == len(specs) * (config.epochs + 1)
    first = table[table.epoch == 0].set_index("model_index")
    for row, spec in enumerate(specs):
        for key in ("model_id", "seed", "init", "activation", "optimizer", "lr"):
            assert first.loc[row, key] == getattr(spec, key)
    assert zoo.weights.shape == (len(specs), config.epochs + 1, 100)


def test_diverged_models_are_flagged_counted_and_left_out(tmp_path):
    base = create_zoo_config("tetris-seed", n_models=4, epochs=2, dataset_options=TINY)
    grid = dict(base.grid, optimizer=("sgd",), activation=("relu",), lr=(1e-2, 1e7))
    config = ZooConfig.from_dict(
        {**base.to_dict(), "grid": grid, "seeds": [1, 2], "model_order": "grid"}
    )  # rows in grid order: the two lr values in turn
    zoo = create_zoo(config, tmp_path / "z", progress=False)
    per_model = zoo.properties.groupby("model_index").first()
    assert list(per_model["lr"]) == [1e-2, 1e-2, 1e7, 1e7]
    assert list(per_model["diverged"]) == [False, False, True, True]
    assert (per_model["diverged_epoch"] == [-1, -1, 1, 1]).all()
    assert zoo.summary()["diverged"] == 2
    assert json.loads((tmp_path / "z" / "zoo.json").read_text())["summary"]["diverged"] == 2
    kept = zoo.checkpoints()
    assert set(kept["model_index"]) == {0, 1}
    assert len(zoo.checkpoints(include_diverged=True)) == 4 * 2  # epochs 1, 2
    assert len(zoo.checkpoints(include_diverged=True, include_init=True)) == 4 * 3


def test_loader_memory_maps_and_reads_rows_on_demand(tmp_path):
    zoo = create_zoo(tiny_hyp(), tmp_path / "z", progress=False)
    assert isinstance(zoo.weights, np.memmap)
    assert not zoo.weights.flags.writeable
    rows = zoo.checkpoints().iloc[[0, 5, 17]]
    got = zoo.load_weights(rows)
    for i, (_, row) in enumerate(rows.iterrows()):
        assert np.array_equal(got[i], zoo.weights[row.model_index, row.epoch])
    # plain numpy reads the weights without hyperrep
    plain = np.load(tmp_path / "z" / "weights.npy", mmap_mode="r", allow_pickle=False)
    assert plain.shape == zoo.weights.shape


def test_folder_holding_another_zoo_is_refused(tmp_path):
    create_zoo(tiny_hyp(), tmp_path / "z", progress=False)
    with pytest.raises(HyperrepError, match="holds another zoo"):
        create_zoo(tiny_hyp(epochs=2), tmp_path / "z", progress=False)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(HyperrepError, match="not an empty folder"):
        create_zoo(tiny_hyp(), tmp_path / "other", progress=False)
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"


def test_unwritable_destination_is_reported(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(HyperrepError, match="cannot write a zoo"):
        create_zoo(tiny_hyp(), blocker / "zoo", progress=False)


def test_not_a_zoo(tmp_path):
    with pytest.raises(HyperrepError, match="not a hyperrep zoo"):
        open_zoo(tmp_path)


def test_zoo_grows_to_more_seeds_keeping_its_models(tmp_path):
    def seeds(n):
        return create_zoo_config("tetris-seed", n_models=n, epochs=2, dataset_options=TINY)

    small = create_zoo(seeds(5), tmp_path / "z", population_size=4, progress=False)
    kept = np.array(small.weights)
    grown = create_zoo(seeds(11), tmp_path / "z", population_size=4, progress=False)
    fresh = create_zoo(seeds(11), tmp_path / "fresh", population_size=4, progress=False)
    assert grown.complete and grown.summary()["models_done"] == 11
    assert grown.meta["chunks"] == [[0, 1, 2, 3], [4], [5, 6, 7, 8], [9, 10]]
    assert np.array_equal(np.asarray(grown.weights)[:5], kept)
    # a model's training does not depend on the population it shares
    np.testing.assert_allclose(np.asarray(grown.weights), np.asarray(fresh.weights), rtol=1e-6)
    cols = ["model_index", "seed", "epoch", "test_acc"]
    pd.testing.assert_frame_equal(grown.properties[cols], fresh.properties[cols], rtol=1e-5)
    again = create_zoo(seeds(11), tmp_path / "z", population_size=4, progress=False)
    assert np.array_equal(np.asarray(again.weights), np.asarray(grown.weights))


def test_grid_zoo_grows_keeping_its_models_and_covering_every_value(tmp_path, idx_data):
    # MNIST-HYP-1-FIX-SEED, 6 models grown to 12: the first 6 stay byte for byte, and
    # the 12 hold every value of every hyperparameter (4 inits, 4 activations, ...)
    def hyp(n):
        return create_zoo_config(
            "mnist-hyp-1-fix-seed", n_models=n, epochs=1, train_subset=200, test_subset=100
        )

    data = idx_data / "mnist"
    small = create_zoo(hyp(6), tmp_path / "z", data_dir=data, progress=False)
    kept, kept_props = np.array(small.weights), small.properties.copy()
    grown = create_zoo(hyp(12), tmp_path / "z", data_dir=data, progress=False)
    assert grown.complete and grown.summary()["models_done"] == 12
    assert np.array_equal(np.asarray(grown.weights)[:6], kept)
    first = grown.properties[grown.properties["model_index"] < 6].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, kept_props.reset_index(drop=True))
    specs = hyp(12).models()
    assert specs[:6] == hyp(6).models()
    for key, values in hyp(12).grid.items():
        assert {getattr(m, key) for m in specs} == set(values), key
    fresh = create_zoo(hyp(12), tmp_path / "fresh", data_dir=data, progress=False)
    np.testing.assert_allclose(
        np.asarray(grown.weights), np.asarray(fresh.weights), rtol=1e-5, atol=1e-6
    )


def test_grid_zoo_of_the_old_model_order_is_not_grown(tmp_path):
    create_zoo(
        tiny_hyp(epochs=1, model_order="grid"), tmp_path / "z", population_size=4, progress=False
    )
    before = (tmp_path / "z" / "zoo.json").read_text()
    with pytest.raises(HyperrepError, match="cannot grow"):
        create_zoo(
            tiny_hyp(epochs=1, n_models=16, model_order="grid"), tmp_path / "z", progress=False
        )
    assert (tmp_path / "z" / "zoo.json").read_text() == before
    with pytest.raises(HyperrepError, match="holds another zoo"):
        create_zoo(tiny_hyp(epochs=1, n_models=8), tmp_path / "z", progress=False)
    # a zoo.json of format 3 has no model_order: a grid zoo reads as "grid", a seed zoo
    # as "balanced" (its order is the same either way)
    meta = json.loads((tmp_path / "z" / "zoo.json").read_text())
    del meta["config"]["model_order"]
    assert ZooConfig.from_dict(meta["config"]).model_order == "grid"
    seed = create_zoo_config("tetris-seed", n_models=3).to_dict()
    del seed["model_order"]
    assert ZooConfig.from_dict(seed) == create_zoo_config("tetris-seed", n_models=3)


def test_format_1_zoo_is_read_resumed_and_grown_as_it_was_trained(tmp_path):
    # a zoo written before format 2: no init_scheme / train_metrics / holdout in its
    # config and no dropout flag on its activations; it reads as fan-in, full, 0
    legacy = dict(init_scheme="fan-in", train_metrics="full", dataset_options=TINY, epochs=1)
    config = create_zoo_config("tetris-seed", n_models=3, **legacy)
    create_zoo(config, tmp_path / "z", progress=False)
    meta_path = tmp_path / "z" / "zoo.json"
    meta = json.loads(meta_path.read_text())
    for key in ("init_scheme", "train_metrics", "holdout", "holdout_seed"):
        del meta["config"][key]
    for layer in meta["architecture"]["layers"]:
        layer.pop("dropout", None)
    meta["format_version"] = 1
    meta_path.write_text(json.dumps(meta))
    progress = json.loads((tmp_path / "z" / "progress.json").read_text())
    del progress["architecture"]  # format 1 recorded no architecture digest
    (tmp_path / "z" / "progress.json").write_text(json.dumps(progress))
    zoo = open_zoo(tmp_path / "z")
    assert (zoo.config.init_scheme, zoo.config.train_metrics) == ("fan-in", "full")
    again = create_zoo(config, tmp_path / "z", progress=False)  # same settings: a no-op
    assert again.complete and again.summary()["models_done"] == 3
    grown = create_zoo(
        create_zoo_config("tetris-seed", n_models=5, **legacy), tmp_path / "z", progress=False
    )
    assert grown.summary()["models_done"] == 5 and grown.meta["format_version"] == FORMAT_VERSION
    with pytest.raises(HyperrepError, match="holds another zoo"):  # today's default: authors
        create_zoo(
            create_zoo_config("tetris-seed", n_models=5, dataset_options=TINY, epochs=1),
            tmp_path / "z",
            progress=False,
        )


def test_first_models_of_a_growing_zoo_are_a_complete_zoo(tmp_path):
    config = create_zoo_config("tetris-seed", n_models=12, epochs=3, dataset_options=TINY)
    whole = create_zoo(config, tmp_path / "whole", population_size=4, progress=False)
    with pytest.raises(Interrupted):
        create_zoo(
            config,
            tmp_path / "part",
            population_size=4,
            progress=False,
            on_epoch=interrupt_at(2, 1),
        )
    part = open_zoo(tmp_path / "part")
    assert part.progress["done"] == [0, 1] and not part.complete
    first = part.first(8)
    assert first.complete and first.summary()["models_planned"] == 8
    assert sorted(first.properties["model_index"].unique()) == list(range(8))
    pd.testing.assert_frame_equal(first.properties, whole.first(8).properties)
    assert not part.first(9).complete  # model 8 is in the unfinished chunk
    assert (part.finished_prefix, whole.finished_prefix, part.first(6).finished_prefix) == (
        8,
        12,
        6,
    )
    assert "take its first 8 with --models 8" in format_summary(part.summary())
    assert len(part.properties) == 8 * 4 and part.model_limit is None  # the zoo itself unchanged
    assert sorted(whole.first(5).properties["model_index"].unique()) == list(range(5))
    for bad in (2, 13, 4.0):
        with pytest.raises(HyperrepError, match="must be 3..12"):
            part.first(bad)


def test_summary_gives_last_epoch_accuracy_per_hyperparameter_value(tmp_path):
    zoo = create_zoo(tiny_hyp(), tmp_path / "hyp", population_size=4, progress=False)
    by = zoo.summary()["test_acc_by_hyperparameter"]
    # independently: a loop over the healthy models' rows at the last epoch
    rows = zoo.properties
    last = rows[(rows["epoch"] == 3) & ~rows["diverged"]]
    expected = {}
    for _, row in last.iterrows():
        for column in ("activation", "optimizer", "init", "lr", "weight_decay", "dropout"):
            expected.setdefault(column, {}).setdefault(row[column], []).append(row["test_acc"])
    varied = {c: v for c, v in expected.items() if len(v) > 1}
    assert set(by.index.unique("hyperparameter")) == set(varied) and "activation" in varied
    for column, values in varied.items():
        for value, accs in values.items():
            assert by.loc[(column, value), "models"] == len(accs)
            assert by.loc[(column, value), "median"] == pytest.approx(float(np.median(accs)))
    assert (by["epoch"] == 3).all()
    shown = format_summary(zoo.summary())
    assert "test accuracy at epoch 3 by hyperparameter" in shown
    assert f"  activation    {by.loc['activation'].index[0]} " in shown


def test_seed_zoo_summary_has_no_hyperparameter_rows(tmp_path):
    config = create_zoo_config("tetris-seed", n_models=4, epochs=1, dataset_options=TINY)
    zoo = create_zoo(config, tmp_path / "seed", progress=False)
    assert zoo.summary()["test_acc_by_hyperparameter"].empty
    assert "by hyperparameter" not in format_summary(zoo.summary())


def test_hyperparameters_drawn_from_a_range_are_shown_in_quartile_bins():
    from hyperrep.zoo._zoo import _by_hyperparameter

    rng = np.random.default_rng(0)
    lr = 10 ** rng.uniform(-4, -2, 40)
    table = pd.DataFrame(
        {"epoch": 5, "lr": lr, "optimizer": ["adam"] * 20 + ["sgd"] * 20, "test_acc": lr * 10}
    )
    by = _by_hyperparameter(table)
    assert list(by.loc["optimizer"].index) == ["adam", "sgd"]
    bins = by.loc["lr"]
    assert len(bins) == 4 and bins["models"].sum() == 40  # not 40 one-model rows
    # accuracy rises with lr here, so the bins' medians do too
    starts = [float(label.strip("[]").split(", ")[0]) for label in bins.index]
    assert starts == sorted(starts)  # listed in the ranges' order
    assert bins["median"].is_monotonic_increasing
