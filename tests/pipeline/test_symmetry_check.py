"""`hyperrep symmetry-check`: the appendix Figure 1 experiment as a command."""

import json

import pytest
import torch

from hyperrep.cli.main import main


@pytest.mark.slow
def test_symmetry_check_on_the_tetris_mlp(tmp_path, capsys, assert_plot):
    assert main(["symmetry-check", "--out", str(tmp_path), "--epochs", "4"]) == 0
    result = json.loads((tmp_path / "symmetry_check.json").read_text())
    assert_plot(tmp_path / "symmetry_check.png")
    assert result["epochs"] == [0, 1, 2, 3, 4]
    assert result["acc_a"] == result["acc_ap"]  # the same function at every epoch
    assert result["acc_a"][-1] > result["acc_a"][0]  # and it did learn
    assert min(result["dist_a_ap"]) > 1.0  # far apart in weight space
    assert max(result["dist_ap_b"]) < 1e-4  # B follows Ap
    assert result["forward_ok"] and result["backward_ok"]


def test_symmetry_check_on_the_mnist_cnn(tmp_path, idx_data):
    args = [
        "symmetry-check",
        "--out",
        str(tmp_path),
        "--preset",
        "mnist-seed",
        "--epochs",
        "2",
        "--train-subset",
        "512",
        "--test-subset",
        "256",
        "--lr",
        "3e-4",
        "--data-dir",
        str(idx_data / "mnist"),
    ]
    assert main(args) == 0
    result = json.loads((tmp_path / "symmetry_check.json").read_text())
    assert result["architecture"] == "mnist-cnn"
    assert result["max_acc_diff_a_ap"] <= 1e-3 and result["max_relative_drift_b"] <= 1e-5


@pytest.mark.slow
def test_symmetry_check_fails_when_equivalence_is_broken(tmp_path, monkeypatch):
    """The check can fail: a 'permutation' that forgets the next layer's columns."""
    import hyperrep.pipeline._symmetry_check as check
    from hyperrep.weights._permutation import hidden_groups

    def rows_only(arch, weights, perms):
        out = weights.clone()
        group = hidden_groups(arch)[0]
        lo, hi = group.entries[0].offset, group.entries[0].stop  # the producer's weight rows
        rows = weights[:, lo:hi].reshape(weights.shape[0], group.size, -1)
        out[:, lo:hi] = rows[:, perms[0][0]].reshape(weights.shape[0], -1)
        return out

    monkeypatch.setattr(check, "permute", rows_only)
    assert main(["symmetry-check", "--out", str(tmp_path), "--epochs", "2"]) == 1
    result = json.loads((tmp_path / "symmetry_check.json").read_text())
    assert not result["forward_ok"]
    assert torch.tensor(result["acc_a"]).ne(torch.tensor(result["acc_ap"])).any()
