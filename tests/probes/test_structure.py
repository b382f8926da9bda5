import numpy as np
import pandas as pd
import pytest

from hyperrep.cli.main import main
from hyperrep.probes import (
    load_structure,
    save_structure,
    settings_differ,
    structure_table,
    weight_space_structure,
)
from hyperrep.zoo import create_zoo, create_zoo_config, load_checkpoints


@pytest.fixture(scope="module")
def hyp_zoo(tmp_path_factory):
    """48 Tetris MLPs that vary init, activation and learning rate, 3 epochs."""
    config = create_zoo_config(
        "tetris-hyp", n_models=48, epochs=3, dataset_options={"n_train": 256, "n_test": 128}
    )
    return create_zoo(config, tmp_path_factory.mktemp("hyp") / "z", progress=False)


def _knn_by_loop(x_train, y_train, x_test, k):
    """Majority vote of the k nearest training rows (ties: the smallest label)."""
    predicted = []
    for row in x_test:
        nearest = np.argsort(((x_train - row) ** 2).sum(1), kind="stable")[:k]
        labels, counts = np.unique(y_train[nearest], return_counts=True)
        predicted.append(labels[np.argmax(counts)])
    return np.array(predicted)


def test_structure_numbers_match_plain_computations(hyp_zoo):
    structure = weight_space_structure(hyp_zoo, umap_points=0, neighbours=5)
    data = load_checkpoints(hyp_zoo, 0)
    w = data.weights.numpy().astype(np.float64)
    acc = data.table["test_acc"].to_numpy()
    means = np.array([sum(row) / len(row) for row in w])
    dm, da = means - means.mean(), acc - acc.mean()
    pearson = (dm @ da) / np.sqrt((dm @ dm) * (da @ da))
    assert structure.numbers["pearson_mean_weight_acc"] == pytest.approx(pearson, abs=1e-6)
    split = data.table["split"].to_numpy()
    train, test = split == "train", split == "test"
    mean, std = w[train].mean(0), w[train].std(0)
    xs = (w - mean) / np.where(std > 1e-12, std, 1.0)
    for label in ("activation", "init"):
        y = data.table[label].astype(str).to_numpy()
        knn = _knn_by_loop(xs[train], y[train], xs[test], 5)
        assert structure.numbers[f"knn_{label}"] == pytest.approx(np.mean(knn == y[test]))
        values, counts = np.unique(y[test], return_counts=True)
        assert structure.numbers[f"chance_{label}"] == pytest.approx(counts.max() / test.sum())
        assert -1 <= structure.numbers[f"silhouette_{label}"] <= 1
        assert 0 <= structure.numbers[f"linear_{label}"] <= 1
    assert structure.numbers["models"] == data.table["model_id"].nunique()
    assert structure.embedding.empty


def test_a_seed_zoo_has_no_cluster_numbers(tiny_zoo):
    table = structure_table([weight_space_structure(tiny_zoo, "seed", umap_points=0)])
    assert list(table.index) == ["seed"]
    assert not any(c.startswith(("knn_", "silhouette_")) for c in table.columns)


def test_compare_command_writes_figure_and_tables(hyp_zoo, tiny_zoo, tmp_path, capsys, assert_plot):
    out = tmp_path / "fig"
    assert (
        main(
            [
                "zoo",
                "compare",
                str(tiny_zoo.path),
                str(hyp_zoo.path),
                "--out",
                str(out),
                "--names",
                "SEED",
                "HYP",
                "--umap-points",
                "60",
            ]
        )
        == 0
    )
    assert {p.name for p in out.iterdir()} == {
        "figure3.png",
        "structure.csv",
        "structure.md",
        "structures",
    }
    assert {p.name for p in (out / "structures").iterdir()} == {"SEED", "HYP"}
    assert_plot(out / "figure3.png", min_side=800)
    text = (out / "structure.md").read_text()
    assert "| quantity | SEED | HYP |" in text and "knn_activation" in text
    assert "pearson_mean_weight_acc" in capsys.readouterr().out

    # drawn again from the saved HYP column beside the zoo itself: the same numbers
    again = tmp_path / "again"
    saved = out / "structures" / "HYP"
    code = main(
        ["zoo", "compare", str(saved), str(hyp_zoo.path), "--out", str(again)]
        + ["--names", "saved", "fresh", "--umap-points", "60"]
    )
    assert code == 0
    table = pd.read_csv(again / "structure.csv", index_col=0)
    pd.testing.assert_series_equal(table.loc["saved"], table.loc["fresh"], check_names=False)
    assert_plot(again / "figure3.png", min_side=800)
    # a saved column asked for other settings is drawn as saved, and says so
    code = main(["zoo", "compare", str(saved), "--out", str(tmp_path / "third"), "--seed", "3"])
    assert code == 0 and "shown as saved (seed: saved 0, asked 3)" in capsys.readouterr().out


def test_a_saved_structure_reads_back_equal(hyp_zoo, tmp_path):
    structure = weight_space_structure(hyp_zoo, "HYP", umap_points=40, seed=1, weight_limit=5.0)
    back = load_structure(save_structure(structure, tmp_path / "s"))
    assert back.name == "HYP" and back.numbers == structure.numbers
    assert back.settings == {"seed": 1, "umap_points": 40, "weight_limit": 5.0}
    np.testing.assert_array_equal(back.mean_weight, structure.mean_weight)
    pd.testing.assert_frame_equal(back.embedding, structure.embedding, check_dtype=False)
    saved = ["model_id", "epoch", "test_acc", "split", "seed", "init", "activation", "lr"]
    assert set(saved) <= set(back.table.columns) and "test_loss" not in back.table
    expected = structure.table[saved].reset_index(drop=True)
    pd.testing.assert_frame_equal(back.table[saved], expected, check_dtype=False)
    assert settings_differ(back, seed=1, weight_limit=5.0) == []
    assert settings_differ(back, seed=2, umap_points=40) == ["seed: saved 1, asked 2"]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "umap.csv").unlink(), "umap.csv is missing"),
        (lambda d: (d / "structure.json").write_text('{"format": 9}'), "not a zoo structure"),
        (lambda d: (d / "umap.csv").write_text("row,x,y\n99999,0,0\n"), "a row outside"),
        (lambda d: (d / "umap.csv").write_text("a,b\n1,2\n"), "the columns row, x, y"),
    ],
)
def test_a_damaged_saved_structure_is_refused_in_one_line(
    hyp_zoo, tmp_path, capsys, damage, message
):
    folder = save_structure(weight_space_structure(hyp_zoo, umap_points=20), tmp_path / "s")
    damage(folder)
    code = main(["zoo", "compare", str(folder), "--out", str(tmp_path / "f")])
    err = capsys.readouterr().err.strip()
    assert code != 0 and not (tmp_path / "f").exists()
    assert err.count("\n") == 0 and message in err


def test_compare_refuses_two_columns_of_one_name(tiny_zoo, tmp_path, capsys):
    code = main(["zoo", "compare", str(tiny_zoo.path), str(tiny_zoo.path), "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code != 0 and "give --names" in err and err.count("\n") == 0


def test_compare_refuses_mismatched_names_in_one_line(tiny_zoo, tmp_path, capsys):
    code = main(
        ["zoo", "compare", str(tiny_zoo.path), "--out", str(tmp_path / "f"), "--names", "a", "b"]
    )
    assert code != 0 and not (tmp_path / "f").exists()
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "2 names for 1 zoos" in err
