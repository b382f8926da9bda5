"""The order in which a grid zoo's models are taken: nested and balanced subsets.

A zoo of N models holds the first N of this order, so growing N keeps every model
already trained. The order is greedy: each next model is the one, among those not yet
taken, whose hyperparameter values (and seed slot) have been used least so far, counted
one factor at a time and in pairs of factors; ties go to a seeded random priority. Any
prefix then covers each factor's values as evenly as its length allows, and pairs such as
(activation, optimizer), which decide the training populations, nearly as evenly.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

# A fixed seed: the order is part of a preset's definition, like its grid.
ORDER_SEED = 20211207


def balanced_order(levels: np.ndarray, seed: int = ORDER_SEED) -> np.ndarray:
    """A permutation of the rows of `levels` (units x factors, each entry the index of
    that unit's value of that factor) whose every prefix is balanced over the factors.

    Factors with a single value are ignored. Returns row indices, each exactly once.
    """
    levels = np.asarray(levels, dtype=np.int64)
    n_units = levels.shape[0]
    if n_units == 0:
        return np.empty(0, dtype=np.int64)
    sizes = levels.max(axis=0) + 1
    factors = [k for k in range(levels.shape[1]) if sizes[k] > 1]
    priority = np.random.default_rng(seed).permutation(n_units)
    if not factors:
        return np.argsort(priority, kind="stable")
    # each term: a code per unit (its value, or pair of values) and the number of codes,
    # which also weights the term's counts so that factors with more values compare fairly
    terms: list[tuple[np.ndarray, int]] = [(levels[:, k], int(sizes[k])) for k in factors]
    for a, b in combinations(factors, 2):
        terms.append((levels[:, a] * sizes[b] + levels[:, b], int(sizes[a] * sizes[b])))
    counts = [np.zeros(n_codes) for _, n_codes in terms]
    taken = np.zeros(n_units, dtype=bool)
    order = np.empty(n_units, dtype=np.int64)
    for step in range(n_units):
        score = np.zeros(n_units)
        for (codes, n_codes), count in zip(terms, counts, strict=True):
            score += count[codes] * n_codes
        score[taken] = np.inf
        best = np.flatnonzero(score <= score.min() + 1e-9)
        pick = best[np.argmin(priority[best])]
        order[step] = pick
        taken[pick] = True
        for (codes, _), count in zip(terms, counts, strict=True):
            count[codes[pick]] += 1
    return order
