"""Init schemes: the authors' convention (def_net.py) and the fan-in alternative."""

import math

import numpy as np
import pytest
import torch

from hyperrep._errors import UnknownNameError
from hyperrep.arch import create_architecture
from hyperrep.population import init_params
from hyperrep.population._init import INITS
from hyperrep.zoo import ZooConfig, create_zoo_config

CNN = create_architecture("mnist-cnn")


def _draw(method: str, scheme: str, seeds: int = 40) -> dict[str, np.ndarray]:
    """Every slot's values pooled over `seeds` models."""
    values: dict[str, list[np.ndarray]] = {}
    for seed in range(seeds):
        tensors = init_params(CNN, method, torch.Generator().manual_seed(seed), scheme=scheme)
        for slot, t in zip(CNN.param_slots, tensors, strict=True):
            assert tuple(t.shape) == slot.shape
            values.setdefault(slot.name, []).append(t.numpy().ravel())
    return {k: np.concatenate(v) for k, v in values.items()}


def _fan_in(name: str) -> int:
    slot = next(s for s in CNN.param_slots if s.name == name)
    return math.prod(slot.shape[1:])


def test_authors_uniform_is_u01_with_biases_001():
    drawn = _draw("uniform", "authors")
    for slot in CNN.param_slots:
        v = drawn[slot.name]
        if slot.kind == "bias":
            assert np.all(v == np.float32(0.01))
            continue
        assert v.min() >= 0.0 and v.max() < 1.0
        assert v.mean() == pytest.approx(0.5, abs=5 / math.sqrt(12 * v.size))
        assert v.var() == pytest.approx(1 / 12, rel=0.1)


def test_authors_normal_is_standard_normal():
    drawn = _draw("normal", "authors")
    weights = np.concatenate([drawn[s.name] for s in CNN.param_slots if s.kind == "weight"])
    assert weights.mean() == pytest.approx(0.0, abs=5 / math.sqrt(weights.size))
    assert weights.std() == pytest.approx(1.0, rel=0.02)


@pytest.mark.parametrize(
    ("method", "std_of_fan"),
    [
        # PyTorch's defaults: kaiming a=0 (gain sqrt 2) on fan_in; xavier gain 1
        ("kaiming_uniform", lambda fi, fo: math.sqrt(2 / fi)),
        ("kaiming_normal", lambda fi, fo: math.sqrt(2 / fi)),
        ("xavier_uniform", lambda fi, fo: math.sqrt(2 / (fi + fo))),
        ("xavier_normal", lambda fi, fo: math.sqrt(2 / (fi + fo))),
    ],
)
def test_authors_torch_inits_have_pytorch_default_spread(method, std_of_fan):
    drawn = _draw(method, "authors", seeds=60)
    for slot in CNN.param_slots:
        v = drawn[slot.name]
        if slot.kind == "bias":
            assert np.all(v == np.float32(0.01))
            continue
        receptive = math.prod(slot.shape[2:])
        fan_in, fan_out = slot.shape[1] * receptive, slot.shape[0] * receptive
        assert v.std() == pytest.approx(std_of_fan(fan_in, fan_out), rel=0.1), slot.name


def test_fan_in_scheme_keeps_the_old_meaning():
    drawn = _draw("uniform", "fan-in")
    for slot in CNN.param_slots:
        v = drawn[slot.name]
        layer_weight = f"{slot.layer}.weight"
        bound = 1 / math.sqrt(_fan_in(layer_weight))
        assert np.abs(v).max() <= bound
        assert v.std() == pytest.approx(bound / math.sqrt(3), rel=0.15)  # U(-b, b); biases too


def test_same_generator_state_same_init():
    a = init_params(CNN, "normal", torch.Generator().manual_seed(3))
    b = init_params(CNN, "normal", torch.Generator().manual_seed(3))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_unknown_init_or_scheme_is_one_line():
    with pytest.raises(UnknownNameError, match="unknown init scheme 'he'; known: authors, fan-in"):
        init_params(CNN, "uniform", torch.Generator(), scheme="he")
    with pytest.raises(UnknownNameError, match="unknown init 'orthogonal'"):
        create_zoo_config("mnist-seed").with_overrides(
            grid={**create_zoo_config("mnist-seed").grid, "init": ("orthogonal",)}
        )
    assert set(INITS) == {
        "uniform",
        "normal",
        "kaiming_uniform",
        "kaiming_normal",
        "xavier_uniform",
        "xavier_normal",
    }


def test_presets_use_the_authors_scheme_and_format_1_zoos_read_as_fan_in():
    config = create_zoo_config("mnist-seed")
    assert config.init_scheme == "authors"
    assert all(spec.init_scheme == "authors" for spec in config.models()[:3])
    old = config.to_dict()
    for key in ("init_scheme", "train_metrics", "holdout", "holdout_seed"):
        old.pop(key)
    legacy = ZooConfig.from_dict(old)
    assert (legacy.init_scheme, legacy.train_metrics, legacy.holdout) == ("fan-in", "full", 0)
