"""The two-panel plot of the permutation-equivalence experiment (appendix Figure 1)."""

from __future__ import annotations

from pathlib import Path

from hyperrep.pipeline._symmetry_check import SymmetryCheck
from hyperrep.report import pyplot


def plot_symmetry_check(result: SymmetryCheck, path: str | Path) -> Path:
    """Left: test accuracy of A, Ap and B per epoch. Right: their pairwise l2 distances."""
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    epochs = result.epochs
    left.plot(
        epochs, [100 * a for a in result.acc_a], "o-", lw=3, ms=7, alpha=0.5, label="A (trained)"
    )
    left.plot(
        epochs, [100 * a for a in result.acc_ap], "s--", lw=1.8, ms=5, label="Ap (A permuted)"
    )
    left.plot(
        epochs,
        [100 * a for a in result.acc_b],
        "x:",
        lw=1.5,
        ms=7,
        label="B (trained from Ap's start)",
    )
    left.set(xlabel="epoch", ylabel="test accuracy (%)", title="Same function: accuracies coincide")
    left.legend(loc="lower right")
    left.grid(alpha=0.3)

    right.plot(epochs, result.dist_a_ap, "o-", lw=3, alpha=0.5, label="|A - Ap|")
    right.plot(epochs, result.dist_a_b, "s--", label="|A - B|")
    right.plot(epochs, result.dist_ap_b, "x:", label="|Ap - B|")
    right.set_yscale("symlog", linthresh=1e-8)
    right.set(
        xlabel="epoch",
        ylabel="l2 distance of weight vectors (symlog)",
        title="Far apart in weight space; B tracks Ap",
    )
    right.legend(loc="center right")
    right.grid(alpha=0.3)

    verdict = "holds" if result.forward_ok and result.backward_ok else "VIOLATED"
    fig.suptitle(
        f"Permutation equivalence on {result.architecture} ({result.preset}, seed {result.seed}, "
        f"lr {result.lr:g}): {verdict}"
    )
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
