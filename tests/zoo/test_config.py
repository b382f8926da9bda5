import numpy as np
import pytest

from hyperrep import HyperrepError
from hyperrep.zoo import create_zoo_config, list_zoo_presets

# appendix Table 1 / Table 2 sizes
SIZES = {
    "tetris-seed": 1000,
    "tetris-hyp": 3600,
    "mnist-seed": 1000,
    "fashion-seed": 1000,
    "mnist-hyp-1-fix-seed": 1152,
    "mnist-hyp-1-rand-seed": 1152,
    "mnist-hyp-5-fix-seed": 1280,
    "mnist-hyp-5-rand-seed": 1280,
}


def test_every_paper_zoo_is_a_preset_with_its_size():
    # and one more, the residual CNN zoo that proves the path for residual networks
    assert sorted(list_zoo_presets()) == sorted([*SIZES, "mnist-resnet-seed"])
    for name, size in SIZES.items():
        config = create_zoo_config(name)
        models = config.models()
        assert len(models) == config.total_models == size, name
        assert sorted(m.model_id for m in models) == list(range(size))
        assert config.epochs == (75 if name.startswith("tetris") else 25)


def test_table2_settings():
    seed = create_zoo_config("tetris-seed").models()
    assert [m.seed for m in seed] == list(range(1, 1001))
    assert {(m.init, m.optimizer, m.activation, m.lr) for m in seed} == {
        ("uniform", "adam", "tanh", 3e-5)
    }
    hyp = create_zoo_config("tetris-hyp").models()
    assert {m.lr for m in hyp} == {1e-3, 1e-4, 1e-5}
    assert len({m.init for m in hyp}) == 6 and {m.activation for m in hyp} == {"tanh", "relu"}
    fix1 = create_zoo_config("mnist-hyp-1-fix-seed").models()
    assert {m.seed for m in fix1} == {42}
    assert {m.dropout for m in fix1} == {0.0, 0.3, 0.5}
    fix5 = create_zoo_config("mnist-hyp-5-fix-seed").models()
    assert {m.seed for m in fix5} == {1, 2, 3, 4, 5}
    rand5 = create_zoo_config("mnist-hyp-5-rand-seed").models()
    assert len({m.seed for m in rand5}) > 1000  # 5 random seeds per configuration
    assert all(1 <= m.seed <= 1_000_000 for m in rand5)


def test_subsets_are_deterministic_and_span_the_grid():
    a = create_zoo_config("mnist-hyp-1-rand-seed", n_models=40).models()
    b = create_zoo_config("mnist-hyp-1-rand-seed", n_models=40).models()
    assert a == b and len(a) == 40
    assert len({m.activation for m in a}) > 1 and len({m.optimizer for m in a}) > 1
    assert [m.seed for m in create_zoo_config("tetris-seed", n_models=3).models()] == [1, 2, 3]


def test_grid_subsets_are_nested_and_balanced():
    full = create_zoo_config("mnist-hyp-5-rand-seed").models()
    for n in (12, 24, 288):
        sub = create_zoo_config("mnist-hyp-5-rand-seed", n_models=n).models()
        assert sub == full[:n]
        for key, values in create_zoo_config("mnist-hyp-5-rand-seed").grid.items():
            counts = [sum(getattr(m, key) == v for m in sub) for v in values]
            assert max(counts) - min(counts) <= 2, (n, key, counts)
    # the (activation, optimizer) populations of a quarter zoo are even too
    groups = {}
    for m in create_zoo_config("mnist-hyp-1-fix-seed", n_models=288).models():
        groups[m.group] = groups.get(m.group, 0) + 1
    assert len(groups) == 8 and max(groups.values()) - min(groups.values()) <= 2


def test_balanced_order_on_a_hand_worked_grid():
    from hyperrep.zoo._order import balanced_order

    # 2 x 2 factors: any order whose first two units differ in both factors is balanced
    levels = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    order = balanced_order(levels, seed=3)
    assert sorted(order) == [0, 1, 2, 3]
    first, second = levels[order[0]], levels[order[1]]
    assert (first != second).all()
    assert sorted(balanced_order(np.zeros((3, 1), int))) == [0, 1, 2]  # nothing to balance


def test_bad_overrides_and_unknown_preset():
    with pytest.raises(HyperrepError, match="epochs"):
        create_zoo_config("tetris-seed", epochs=0)
    with pytest.raises(HyperrepError, match="unknown zoo preset"):
        create_zoo_config("tetris-sed")


def test_cnn_presets_follow_the_authors_training_scripts():
    for name in ("mnist-seed", "fashion-seed", "mnist-hyp-1-fix-seed", "mnist-hyp-5-rand-seed"):
        config = create_zoo_config(name)
        assert (config.batch_size, config.holdout, config.holdout_seed) == (10, 10_000, 42)
        assert (config.init_scheme, config.train_metrics) == ("authors", "running")
    assert create_zoo_config("fashion-seed").dataset_options == {"mean": 0.5, "std": 0.5}
    assert create_zoo_config("mnist-seed").dataset_options == {}
    assert create_zoo_config("tetris-seed").init_scheme == "authors"


def test_bad_protocol_settings_are_one_line_errors():
    with pytest.raises(HyperrepError, match="train_metrics must be one of running, full"):
        create_zoo_config("mnist-seed", train_metrics="epoch")
    with pytest.raises(HyperrepError, match="holdout must be >= 0"):
        create_zoo_config("mnist-seed", holdout=-1)
