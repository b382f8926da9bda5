import pytest
import torch

from hyperrep.arch._activations import dropout_mask, stacked_dropout_masks


@pytest.mark.parametrize("shape", [(10, 8, 12, 12), (10, 20), (3,)])
def test_stacked_masks_equal_the_per_model_masks_and_leave_the_streams_alike(shape):
    dropout = [0.3, 0.0, 0.5, 0.1, 0.0, 0.7]
    stacked_gens = [torch.Generator().manual_seed(s) for s in range(len(dropout))]
    alone_gens = [torch.Generator().manual_seed(s) for s in range(len(dropout))]
    stacked = stacked_dropout_masks(shape, dropout, stacked_gens, "cpu")
    for row, (p, g) in enumerate(zip(dropout, alone_gens, strict=True)):
        alone = dropout_mask(shape, p, g, "cpu") if p > 0 else torch.ones(shape)
        assert torch.equal(stacked[row], alone), row
    for a, b in zip(stacked_gens, alone_gens, strict=True):  # the next draws agree too
        assert torch.equal(torch.rand(4, generator=a), torch.rand(4, generator=b))
    kept = stacked[torch.tensor(dropout) > 0]
    allowed = [0.0] + [1 / (1 - p) for p in dropout]
    assert all(min(abs(v - a) for a in allowed) < 1e-6 for v in kept.unique().tolist())


def test_a_mask_is_zero_or_the_inverted_scale():
    mask = dropout_mask((1000,), 0.5, torch.Generator().manual_seed(0), "cpu")
    assert set(mask.unique().tolist()) == {0.0, 2.0}
    assert 400 < int((mask == 0).sum()) < 600
