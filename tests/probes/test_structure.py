import numpy as np
import pytest

from hyperrep.cli.main import main
from hyperrep.probes import structure_table, weight_space_structure
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
    assert {p.name for p in out.iterdir()} == {"figure3.png", "structure.csv", "structure.md"}
    assert_plot(out / "figure3.png", min_side=800)
    text = (out / "structure.md").read_text()
    assert "| quantity | SEED | HYP |" in text and "knn_activation" in text
    assert "pearson_mean_weight_acc" in capsys.readouterr().out


def test_compare_refuses_mismatched_names_in_one_line(tiny_zoo, tmp_path, capsys):
    code = main(
        ["zoo", "compare", str(tiny_zoo.path), "--out", str(tmp_path / "f"), "--names", "a", "b"]
    )
    assert code != 0 and not (tmp_path / "f").exists()
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "2 names for 1 zoos" in err
