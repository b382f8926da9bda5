import pytest
import torch

from hyperrep import HyperrepError
from hyperrep.arch import create_architecture
from hyperrep.weights import Compose, GaussianNoise, PermuteNeurons, RandomErasing, token_layout

ARCH = create_architecture("mnist-cnn")


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_augmentations_are_seeded():
    weights = torch.randn(16, ARCH.n_params)
    aug = Compose([PermuteNeurons(ARCH), GaussianNoise(0.05), RandomErasing(p=0.5)])
    assert torch.equal(aug(weights, gen(3)), aug(weights, gen(3)))
    assert not torch.equal(aug(weights, gen(3)), aug(weights, gen(4)))


def test_permutation_pool_and_fresh_draws_keep_values():
    weights = torch.randn(8, ARCH.n_params)
    for aug in (PermuteNeurons(ARCH), PermuteNeurons(ARCH, pool_size=10)):
        out = aug(weights, gen())
        assert torch.equal(out.sort(1).values, weights.sort(1).values)
        assert not torch.equal(out, weights)


def test_noise_scale():
    weights = torch.zeros(200, ARCH.n_params)
    noise = GaussianNoise(0.05)(weights, gen())
    assert noise.std().item() == pytest.approx(0.05, rel=0.02)
    assert torch.equal(GaussianNoise(0.0)(weights, gen()), weights)


def test_block_erasing_zeroes_one_contiguous_span_of_the_right_length():
    weights = torch.ones(2000, ARCH.n_params)
    out = RandomErasing(p=0.5, scale=(0.1, 0.2))(weights, gen())
    erased = out == 0
    rows = erased.any(1)
    assert 0.45 < rows.float().mean() < 0.55
    for row in erased[rows][:50]:
        positions = row.nonzero().flatten()
        assert positions.max() - positions.min() + 1 == len(positions)  # contiguous
        assert 0.1 * ARCH.n_params - 1 <= len(positions) <= 0.2 * ARCH.n_params + 1


def test_token_erasing_removes_whole_tokens():
    layout = token_layout(ARCH)
    weights = torch.ones(300, ARCH.n_params)
    out = RandomErasing(p=1.0, mode="token", arch=ARCH)(weights, gen())
    for row in out[:50]:
        erased_tokens = layout.token_of_param[row == 0].unique()
        assert len(erased_tokens) >= 1
        # every erased token is erased completely, and the tokens form one run
        for t in erased_tokens:
            assert (row[layout.token_of_param == t] == 0).all()
        assert erased_tokens.max() - erased_tokens.min() + 1 == len(erased_tokens)


def test_bad_settings():
    with pytest.raises(HyperrepError, match="0 <= lo <= hi <= 1"):
        RandomErasing(scale=(0.5, 0.1))
    with pytest.raises(HyperrepError, match="needs the architecture"):
        RandomErasing(mode="token")


def test_retried_block_erasing_follows_the_authors_draw():
    n = ARCH.n_params
    weights = torch.ones(4000, n)
    out = RandomErasing(p=1.0, scale=(0.3, 0.9), mode="block-retry")(weights, gen())
    erased = out == 0
    lengths = erased.sum(1)
    for row in erased[:50]:
        positions = row.nonzero().flatten()
        if len(positions):
            assert positions.max() - positions.min() + 1 == len(positions)  # contiguous
            assert positions.max() < n - 1  # start + length < n: never reaches the end
    assert lengths.max() <= int(0.9 * n)
    # a span of fraction f fits one try with probability 1 - f; ten tries of long spans
    # still miss now and then, and the spans that fit are shorter than the draws
    assert 0 < (lengths == 0).float().mean() < 0.05
    assert lengths[lengths > 0].float().mean() < 0.6 * n
    assert torch.equal(
        RandomErasing(p=1.0, mode="block-retry")(weights[:9], gen(5)),
        RandomErasing(p=1.0, mode="block-retry")(weights[:9], gen(5)),
    )
