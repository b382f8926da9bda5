"""Linear probes: closed-form ridge regression and a softmax classifier, with
standardisation fitted on the training split and the strength chosen on validation."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, r2_score

RIDGE_ALPHAS = np.logspace(-6, 6, 25)
LOGISTIC_CS = np.logspace(-4, 4, 9)


@dataclass
class Standardizer:
    """Per-feature mean and std of the training split (constant features get std 1)."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> Standardizer:
        mean = x.mean(0)
        std = x.std(0)
        return cls(mean, np.where(std > 1e-12, std, 1.0))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.std


@dataclass
class RidgeProbe:
    """y = x_std @ coef + intercept; the intercept (bias column) is not penalised."""

    standardizer: Standardizer
    coef: np.ndarray
    intercept: float
    alpha: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.standardizer(np.asarray(x, dtype=np.float64)) @ self.coef + self.intercept


def fit_ridge(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    alphas: np.ndarray = RIDGE_ALPHAS,
) -> RidgeProbe:
    """Closed-form ridge regression; the alpha with the best validation R^2 wins."""
    scaler = Standardizer.fit(np.asarray(x_train, dtype=np.float64))
    xs = scaler(np.asarray(x_train, dtype=np.float64))
    y = np.asarray(y_train, dtype=np.float64)
    intercept = float(y.mean())
    # one eigendecomposition of X^T X serves every alpha
    eigvals, eigvecs = np.linalg.eigh(xs.T @ xs)
    projected = eigvecs.T @ (xs.T @ (y - intercept))
    probes = (
        RidgeProbe(scaler, eigvecs @ (projected / (np.maximum(eigvals, 0) + a)), intercept, a)
        for a in map(float, alphas)
    )
    if len(y_val) < 2:  # R^2 is undefined: take the strongest regularisation
        return list(probes)[-1]
    return max(probes, key=lambda p: r2_score(y_val, p.predict(x_val)))


@dataclass
class SoftmaxProbe:
    """Multinomial logistic regression on standardised features."""

    standardizer: Standardizer
    model: LogisticRegression
    C: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.model.predict(self.standardizer(np.asarray(x, dtype=np.float64)))


def fit_softmax(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    cs: np.ndarray = LOGISTIC_CS,
) -> SoftmaxProbe:
    """Linear softmax classifier trained with cross-entropy; C chosen on validation accuracy."""
    scaler = Standardizer.fit(np.asarray(x_train, dtype=np.float64))
    xs = scaler(np.asarray(x_train, dtype=np.float64))

    def fit(c: float) -> SoftmaxProbe:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return SoftmaxProbe(scaler, LogisticRegression(C=c, max_iter=500).fit(xs, y_train), c)

    probes = (fit(c) for c in map(float, cs))
    return max(probes, key=lambda p: accuracy_score(y_val, p.predict(x_val)))
