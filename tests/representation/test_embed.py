"""Encoding a zoo's checkpoints: the plain latent, and the latent averaged over input
permutations against a row-by-row loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hyperrep import HyperrepError
from hyperrep.representation import (
    load_run,
)
from hyperrep.weights import hidden_groups, permute, random_permutations


@pytest.fixture(scope="module")
def run(tiny_ecd_run):
    return load_run(tiny_ecd_run)


@pytest.fixture(scope="module")
def weights(tiny_zoo):
    return torch.from_numpy(np.array(tiny_zoo.weights[:6, 1:4]).reshape(18, -1))


def _plain(run, rows):
    with torch.no_grad():
        return run.model.encode(run.normalizer.forward(rows)).double()


def test_one_permutation_is_the_plain_latent(run, weights):
    assert hidden_groups(run.arch), "the test needs an architecture with hidden units"
    np.testing.assert_allclose(
        run.encode(weights, permutations=1).numpy(),
        _plain(run, weights).numpy(),
        rtol=1e-6,
        atol=1e-6,
    )


def test_averaged_latent_equals_a_loop_over_rows_and_draws(run, weights):
    averaged = run.encode(weights, batch_size=4, permutations=3, seed=5).numpy()
    generator = torch.Generator().manual_seed(5)
    draws = [random_permutations(run.arch, 1, generator) for _ in range(2)]
    for i in range(len(weights)):
        row = weights[i : i + 1]
        views = [row] + [permute(run.arch, row, d) for d in draws]
        expected = sum(_plain(run, v) for v in views) / 3
        np.testing.assert_allclose(averaged[i], expected[0].numpy(), rtol=1e-5, atol=1e-6)
    # the permutations are not the identity, so the average is another latent
    assert not np.allclose(averaged, run.encode(weights).numpy(), atol=1e-4)


def test_averaged_latent_does_not_depend_on_the_other_rows(run, weights):
    small = run.encode(weights, batch_size=5, permutations=4, seed=1)
    large = run.encode(weights, batch_size=1024, permutations=4, seed=1)
    torch.testing.assert_close(small, large, rtol=1e-6, atol=1e-6)
    alone = run.encode(weights[7:8], permutations=4, seed=1)
    torch.testing.assert_close(alone[0], large[7], rtol=1e-6, atol=1e-6)
    other_seed = run.encode(weights, permutations=4, seed=2)
    assert not torch.allclose(small, other_seed, atol=1e-5)


@pytest.mark.parametrize("bad", [0, -2, 1.5])
def test_permutations_below_one_are_refused(run, weights, bad):
    with pytest.raises(HyperrepError, match="permutations"):
        run.encode(weights, permutations=bad)
