"""Linear probes: closed-form ridge regression and a softmax classifier, with
standardisation fitted on the training split and the strength chosen on validation."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, r2_score
from threadpoolctl import threadpool_limits

RIDGE_ALPHAS = np.logspace(-6, 6, 25)
LOGISTIC_CS = np.logspace(-4, 4, 9)
# Softmax problems with at most this many coefficients ((features + 1) x classes) are
# solved by Newton's method to convergence; larger ones by lbfgs (500 iterations). On W of
# a 300-model TETRIS-HYP zoo (606 coefficients for Init) lbfgs took 536 s and stopped
# unconverged at large C; Newton took 22 s (docs/probes.md, "Softmax solver").
NEWTON_MAX_COEFFICIENTS = 1024


CHUNK_ROWS = 2048  # rows converted to float64 at a time: memory stays ~ chunk x features


def _chunks(n: int, size: int = CHUNK_ROWS) -> list[slice]:
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


@dataclass
class Standardizer:
    """Per-feature mean and std of the training split (constant features get std 1)."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> Standardizer:
        """Two passes over row chunks in float64, so `x` (float32 or a memmap) is never
        copied whole."""
        n = len(x)
        mean = sum(np.asarray(x[c], np.float64).sum(0) for c in _chunks(n)) / n
        var = sum(((np.asarray(x[c], np.float64) - mean) ** 2).sum(0) for c in _chunks(n)) / n
        std = np.sqrt(var)
        return cls(mean, np.where(std > 1e-12, std, 1.0))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=np.float64) - self.mean) / self.std

    def chunks(self, x: np.ndarray) -> Iterator[tuple[slice, np.ndarray]]:
        """(rows, standardised float64 rows) of `x`, one chunk at a time."""
        for rows in _chunks(len(x)):
            yield rows, self(x[rows])


@dataclass
class RidgeProbe:
    """y = x_std @ coef + intercept; the intercept (bias column) is not penalised."""

    standardizer: Standardizer
    coef: np.ndarray
    intercept: float
    alpha: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        out = np.empty(len(x))
        for rows, xs in self.standardizer.chunks(x):
            out[rows] = xs @ self.coef + self.intercept
        return out


def fit_ridges(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    *,
    alphas: np.ndarray = RIDGE_ALPHAS,
) -> list[RidgeProbe]:
    """Closed-form ridge regression of each column of `y_train` (n, targets) on `x_train`;
    per target, the alpha with the best validation R^2 wins.

    One eigendecomposition of the standardised X^T X serves every alpha and target, and
    rows are processed in chunks, so memory grows with features^2, not with rows; with
    fewer rows than features, of the n x n kernel X X^T instead (the same solutions).
    """
    y = np.asarray(y_train, dtype=np.float64).reshape(len(x_train), -1)
    y_val = np.asarray(y_val, dtype=np.float64).reshape(len(x_val), y.shape[1])
    scaler = Standardizer.fit(x_train)
    intercepts = y.mean(0)
    if len(x_train) < x_train.shape[1]:  # fewer rows than features: the n x n dual
        return _fit_ridges_dual(scaler, x_train, y - intercepts, intercepts, x_val, y_val, alphas)
    gram = np.zeros((x_train.shape[1],) * 2)
    xty = np.zeros((x_train.shape[1], y.shape[1]))
    for rows, xs in scaler.chunks(x_train):
        gram += xs.T @ xs
        xty += xs.T @ (y[rows] - intercepts)
    eigvals, eigvecs = np.linalg.eigh(gram)
    projected = eigvecs.T @ xty  # (features, targets)
    # coefficients in the eigenbasis for every (alpha, target): (features, alphas, targets)
    shrink = 1.0 / (np.maximum(eigvals, 0)[:, None] + np.asarray(alphas, float)[None, :])
    eig_coefs = shrink[:, :, None] * projected[:, None, :]
    if len(y_val) >= 2:
        flat = eig_coefs.reshape(len(eigvals), -1)
        pred = np.empty((len(x_val), flat.shape[1]))
        for rows, xs in scaler.chunks(x_val):
            pred[rows] = (xs @ eigvecs) @ flat
        pred = pred.reshape(len(x_val), len(alphas), -1) + intercepts
        best = [
            int(np.argmax([r2_score(y_val[:, t], pred[:, a, t]) for a in range(len(alphas))]))
            for t in range(y.shape[1])
        ]
    else:  # R^2 is undefined: take the strongest regularisation
        best = [len(alphas) - 1] * y.shape[1]
    return [
        RidgeProbe(scaler, eigvecs @ eig_coefs[:, a, t], float(intercepts[t]), float(alphas[a]))
        for t, a in enumerate(best)
    ]


def _fit_ridges_dual(
    scaler: Standardizer,
    x_train: np.ndarray,
    y_centred: np.ndarray,
    intercepts: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    alphas: np.ndarray,
) -> list[RidgeProbe]:
    """The same ridge solutions from the n x n kernel X X^T (n rows < features):
    coef = X^T (X X^T + alpha I)^-1 y, one eigendecomposition for every alpha."""
    xs = scaler(x_train)
    eigvals, eigvecs = np.linalg.eigh(xs @ xs.T)
    projected = eigvecs.T @ y_centred  # (n, targets)
    shrink = 1.0 / (np.maximum(eigvals, 0)[:, None] + np.asarray(alphas, float)[None, :])
    dual = shrink[:, :, None] * projected[:, None, :]  # (n, alphas, targets), eigenbasis
    if len(y_val) >= 2:
        kernel = scaler(x_val) @ xs.T @ eigvecs  # (n_val, n)
        pred = np.einsum("vn,nat->vat", kernel, dual) + intercepts
        best = [
            int(np.argmax([r2_score(y_val[:, t], pred[:, a, t]) for a in range(len(alphas))]))
            for t in range(y_centred.shape[1])
        ]
    else:
        best = [len(alphas) - 1] * y_centred.shape[1]
    return [
        RidgeProbe(scaler, xs.T @ (eigvecs @ dual[:, a, t]), float(intercepts[t]), float(alphas[a]))
        for t, a in enumerate(best)
    ]


def fit_ridge(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    *,
    alphas: np.ndarray = RIDGE_ALPHAS,
) -> RidgeProbe:
    """Closed-form ridge regression; the alpha with the best validation R^2 wins."""
    return fit_ridges(
        x_train, np.asarray(y_train)[:, None], x_val, np.asarray(y_val)[:, None], alphas=alphas
    )[0]


@dataclass
class SoftmaxProbe:
    """Multinomial logistic regression on standardised features."""

    standardizer: Standardizer
    model: LogisticRegression
    C: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.model.predict(self.standardizer(x))


def fit_softmax(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    *,
    cs: np.ndarray = LOGISTIC_CS,
) -> SoftmaxProbe:
    """Linear softmax classifier trained with cross-entropy (L2 penalty 1 / (2C), intercept
    free); C chosen on validation accuracy. Small problems are solved to convergence by
    Newton's method, large ones by lbfgs (see NEWTON_MAX_COEFFICIENTS); on one thread,
    so the same data give the same probe whatever the thread count."""
    scaler = Standardizer.fit(x_train)
    xs = scaler(x_train)
    classes = len(np.unique(y_train))
    coefficients = (xs.shape[1] + 1) * (1 if classes == 2 else classes)
    solver = "newton-cholesky" if coefficients <= NEWTON_MAX_COEFFICIENTS else "lbfgs"

    def fit(c: float) -> SoftmaxProbe:
        model = LogisticRegression(C=c, max_iter=500 if solver == "lbfgs" else 100, solver=solver)
        # one BLAS thread: the fit then does not depend on --threads. On W of a 96-model
        # MNIST-HYP zoo, 2 threads moved lbfgs's stopping points enough to flip the C
        # picked on validation and the Init score from 51.4% to 67.5% (docs/predict.md).
        with threadpool_limits(limits=1), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return SoftmaxProbe(scaler, model.fit(xs, y_train), c)

    probes = (fit(c) for c in map(float, cs))
    return max(probes, key=lambda p: accuracy_score(y_val, p.predict(x_val)))
