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
        assert [m.model_id for m in models] == list(range(size))
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
