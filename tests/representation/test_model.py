import math

import numpy as np
import pytest
import torch
from sklearn.metrics import r2_score as sklearn_r2

from hyperrep.arch import create_architecture
from hyperrep.representation import (
    HyperRepresentation,
    RunConfig,
    TransformerConfig,
    nt_xent,
    pooled_r2,
    reconstruction_loss,
    split_models,
)

SMALL = TransformerConfig(
    d_model=32,
    n_heads=2,
    n_blocks=1,
    d_ff=64,
    latent_dim=10,
    head_layers=3,
    head_width=16,
    head_out=8,
)


@pytest.mark.parametrize("name", ["tetris-mlp", "mnist-cnn"])
def test_shapes(name):
    arch = create_architecture(name)
    config = RunConfig(model=SMALL).with_compression(arch.n_params, 5).model
    assert config.latent_dim == round(arch.n_params / 5)
    model = HyperRepresentation(arch, config).eval()
    weights = torch.randn(6, arch.n_params)
    latent = model.encode(weights)
    assert latent.shape == (6, config.latent_dim)
    assert latent.abs().max() < 1  # tanh
    assert model.decode(latent).shape == (6, arch.n_params)
    assert model.project(latent).shape == (6, SMALL.head_out)


@pytest.mark.parametrize("latent_from", ["token", "all"])
def test_latent_rank_is_bounded_by_d_model_only_when_read_from_the_compression_token(
    latent_from,
):
    arch = create_architecture("mnist-cnn")
    config = TransformerConfig(
        d_model=16, n_heads=2, n_blocks=1, d_ff=32, latent_dim=80, latent_from=latent_from
    )
    model = HyperRepresentation(arch, config).eval()
    with torch.no_grad():
        latent = model.encode(torch.randn(200, arch.n_params)).double()
    # before the tanh the latent is affine in a d_model-vector (token) or a 49 x d_model one
    rank = np.linalg.matrix_rank(torch.atanh(latent).numpy(), tol=1e-6)
    assert rank <= 16 + 1 if latent_from == "token" else rank == 80
    assert model.decode(latent.float()).shape == (200, arch.n_params)


def test_latent_depends_on_every_layer_and_not_on_the_batch():
    arch = create_architecture("mnist-cnn")
    model = HyperRepresentation(arch, SMALL).eval()
    weights = torch.randn(4, arch.n_params)
    base = model.encode(weights)
    for slot in (arch.param_slots[0], arch.param_slots[-1]):  # first conv, last bias
        changed = weights.clone()
        changed[:, slot.offset] += 1.0
        assert (model.encode(changed) - base).abs().max() > 1e-6
    # a sample's latent does not depend on the other samples of its batch (eval mode)
    torch.testing.assert_close(model.encode(weights[:1]), base[:1], rtol=1e-5, atol=1e-6)


def test_nt_xent_hand_computed():
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # each row: one positive (cos 1) and two negatives (cos 0) at temperature 1
    assert float(nt_xent(z, z, temperature=1.0)) == pytest.approx(math.log((2 + math.e) / math.e))


def test_nt_xent_against_a_plain_loop():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    views = [v / v.norm() for v in torch.cat([z1, z2])]
    n, t, total = 5, 0.1, 0.0
    for i in range(2 * n):
        positive = (i + n) % (2 * n)
        logits = [float(views[i] @ views[j]) / t for j in range(2 * n) if j != i]
        denom = sum(math.exp(v) for v in logits)
        total += -(float(views[i] @ views[positive]) / t - math.log(denom))
    assert float(nt_xent(z1, z2, temperature=t)) == pytest.approx(total / (2 * n), rel=1e-5)


def test_reconstruction_losses_and_r2():
    pred, target = torch.randn(8, 6), torch.randn(8, 6)
    assert float(reconstruction_loss(pred, target)) == pytest.approx(
        float(((pred - target) ** 2).mean())
    )
    layers = torch.tensor([0, 0, 0, 0, 1, 1])
    per_layer = (((pred - target) ** 2)[:, :4].mean() + ((pred - target) ** 2)[:, 4:].mean()) / 2
    assert float(reconstruction_loss(pred, target, per_layer=layers)) == pytest.approx(
        float(per_layer)
    )
    near = target + 0.1 * torch.randn(8, 6)
    expected = sklearn_r2(target.numpy(), near.numpy(), multioutput="variance_weighted")
    assert pooled_r2(near, target) == pytest.approx(expected, rel=1e-5)


def test_split_is_by_model_seeded_about_70_15_15_and_stable_under_subsets():
    ids = np.arange(1000)
    splits = split_models(np.repeat(ids, 5), seed=3)
    assert splits == split_models(ids, seed=3)
    assert splits != split_models(ids, seed=4)
    counts = {s: list(splits.values()).count(s) for s in ("train", "val", "test")}
    assert abs(counts["train"] - 700) < 50 and abs(counts["val"] - 150) < 35
    assert abs(counts["test"] - 150) < 35
    # a model's split does not depend on which other models exist
    part = split_models(ids[::3], seed=3)
    assert all(part[i] == splits[i] for i in part)


def test_projection_head_ends_in_batchnorm_and_sees_each_view_alone():
    arch = create_architecture("tetris-mlp")
    model = HyperRepresentation(arch, SMALL).train()
    linears = [m for m in model.head if isinstance(m, torch.nn.Linear)]
    assert len(linears) == SMALL.head_layers
    assert isinstance(model.head[-1], torch.nn.BatchNorm1d)
    latent = torch.randn(12, SMALL.latent_dim)
    both = model.project_views(latent)
    alone = torch.cat([model.head(latent[:6]), model.head(latent[6:])])
    torch.testing.assert_close(both, alone)
    # BatchNorm over both views at once is a different function
    assert (model.head(latent) - both).abs().max() > 1e-3
    # each view's output is standardised by the final BatchNorm (train mode)
    torch.testing.assert_close(both[:6].mean(0), torch.zeros(SMALL.head_out), atol=1e-5, rtol=0)
