import pytest
import torch

from hyperrep import HyperrepError
from hyperrep.arch import (
    Activation,
    Architecture,
    Linear,
    create_architecture,
    flatten_params,
    list_architectures,
    state_dict_to_vector,
    to_module,
    unflatten_params,
    vector_to_state_dict,
)


def test_paper_parameter_counts():
    assert create_architecture("tetris-mlp").n_params == 100
    cnn = create_architecture("mnist-cnn")
    assert cnn.n_params == 2464
    # appendix Table 4 per layer (last linear with its bias, see REFERENCE.md)
    per_layer = {}
    for slot in cnn.param_slots:
        per_layer[slot.layer] = per_layer.get(slot.layer, 0) + slot.size
    assert list(per_layer.values()) == [208, 1206, 100, 740, 210]
    assert cnn.feature_shapes[cnn.layers.index(cnn.layers[8])] == (36,)


@pytest.mark.parametrize("name", list_architectures())
def test_layout_matches_torch_module(name):
    arch = create_architecture(name)
    module = to_module(arch)
    state = module.state_dict()
    assert [s.name for s in arch.param_slots] == list(state)
    assert sum(p.numel() for p in module.parameters()) == arch.n_params
    vec = state_dict_to_vector(arch, state)
    # hand-worked layout: each tensor flattened row-major, concatenated in module order
    expected = torch.cat([t.reshape(-1) for t in state.values()])
    assert torch.equal(vec, expected)
    back = vector_to_state_dict(arch, vec)
    assert all(torch.equal(back[k], state[k]) for k in state)


@pytest.mark.parametrize("name", list_architectures())
def test_batched_flatten_roundtrip_and_dict_roundtrip(name):
    arch = create_architecture(name)
    vectors = torch.randn(3, arch.n_params)
    assert torch.equal(flatten_params(arch, unflatten_params(arch, vectors)), vectors)
    assert Architecture.from_dict(arch.to_dict()) == arch


def test_shape_mismatch_is_reported():
    with pytest.raises(HyperrepError, match="Linear expects"):
        Architecture("bad", (16,), (Linear(16, 5), Activation(), Linear(4, 2)))
    arch = create_architecture("tetris-mlp")
    with pytest.raises(HyperrepError, match="shape"):
        unflatten_params(arch, torch.zeros(2, 99))


def test_same_layout_ignores_dropout_placement_only():
    cnn = create_architecture("mnist-cnn")
    old = Architecture.from_dict(
        {
            **cnn.to_dict(),
            "layers": [
                {k: v for k, v in layer.items() if k != "dropout"}
                for layer in cnn.to_dict()["layers"]
            ],
        }
    )
    assert all(layer.dropout for layer in old.layers if isinstance(layer, Activation))
    assert old != cnn and old.same_layout(cnn)
    assert not cnn.same_layout(create_architecture("tetris-mlp"))
