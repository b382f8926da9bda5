import pytest
import torch

from hyperrep import HyperrepError
from hyperrep.arch import create_architecture, list_architectures, to_module
from hyperrep.weights import token_layout


@pytest.mark.parametrize("name", list_architectures())
def test_round_trips_are_exact(name):
    arch = create_architecture(name)
    layout = token_layout(arch)
    weights = torch.randn(4, arch.n_params)
    assert torch.equal(layout.from_tokens(layout.to_tokens(weights)), weights)
    assert torch.equal(layout.from_padded(layout.to_padded(weights)), weights)
    assert sorted(layout.token_of_param.unique().tolist()) == list(range(layout.n_tokens))


def test_token_counts_from_reference():
    assert [
        (t.n_tokens, t.width) for t in token_layout(create_architecture("tetris-mlp")).layers
    ] == [(5, 16), (4, 5)]
    cnn = token_layout(create_architecture("mnist-cnn"))
    assert [t.n_tokens for t in cnn.layers] == [8, 6, 4, 20, 10] and cnn.n_tokens == 48
    assert [t.width for t in cnn.layers] == [26, 201, 25, 37, 21]


def test_token_holds_the_neurons_incoming_weights_and_bias():
    arch = create_architecture("mnist-cnn")
    module = to_module(arch)
    state = module.state_dict()
    flat = torch.cat([t.reshape(-1) for t in state.values()]).unsqueeze(0)
    tokens = token_layout(arch).to_tokens(flat)
    # hand-checked: channel 3 of the second convolution (layer index 3)
    w, b = state["3.weight"][3], state["3.bias"][3]
    assert torch.equal(tokens[1][0, 3], torch.cat([w.reshape(-1), b.view(1)]))
    # neuron 7 of the first linear layer (layer index 9)
    assert torch.equal(tokens[3][0, 7], torch.cat([state["9.weight"][7], state["9.bias"][7:8]]))


def test_bad_shapes():
    layout = token_layout(create_architecture("tetris-mlp"))
    with pytest.raises(HyperrepError, match=r"expected vectors \(batch, 100\), got \(2, 99\)"):
        layout.to_tokens(torch.zeros(2, 99))
