"""The command line, as a user runs it."""

import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from hyperrep.cli.main import main
from hyperrep.zoo import open_zoo

SUBPROCESS_TIMEOUT = 240  # s: a hung child fails the test instead of stalling the suite


def test_presets_lists_every_zoo(capsys):
    assert main(["zoo", "presets"]) == 0
    out = capsys.readouterr().out
    for name in (
        "tetris-seed",
        "tetris-hyp",
        "mnist-seed",
        "fashion-seed",
        "mnist-hyp-1-fix-seed",
        "mnist-hyp-5-rand-seed",
    ):
        assert name in out


def test_create_then_info(tmp_path, capsys):
    out_dir = tmp_path / "zoo"
    args = [
        "zoo",
        "create",
        "tetris-seed",
        "--out",
        str(out_dir),
        "--models",
        "6",
        "--epochs",
        "2",
        "--quiet",
    ]
    assert main(args) == 0
    assert main(["zoo", "info", str(out_dir)]) == 0
    out = capsys.readouterr().out
    assert "6 of 6 trained" in out and "epoch   2" in out
    # running the same command again resumes (nothing to do) instead of failing
    assert main(args) == 0


@pytest.mark.parametrize("preset", ["mnist-seed", "mnist-hyp-5-rand-seed"])
def test_small_mnist_zoos_from_local_files(tmp_path, idx_data, preset):
    out_dir = tmp_path / preset
    args = [
        "zoo",
        "create",
        preset,
        "--out",
        str(out_dir),
        "--models",
        "8",
        "--epochs",
        "2",
        "--train-subset",
        "256",
        "--test-subset",
        "128",
        "--quiet",
        "--data-dir",
        str(idx_data / "mnist"),
    ]
    assert main(args) == 0
    zoo = open_zoo(out_dir)
    assert zoo.complete
    assert zoo.weights.shape == (8, 3, 2464)
    table = zoo.properties
    assert len(table) == 8 * 3
    assert table["test_acc"].between(0, 1).all()
    if preset != "mnist-seed":
        assert table["activation"].nunique() > 1  # several populations were trained


def test_a_bf16_zoo_starts_where_fp32_does_and_trains_apart(tmp_path, idx_data, capsys):
    def create(precision):
        out = tmp_path / precision
        args = ["zoo", "create", "mnist-seed", "--out", str(out), "--models", "3"]
        args += ["--epochs", "1", "--train-subset", "100", "--test-subset", "64"]
        args += ["--quiet", "--data-dir", str(idx_data / "mnist"), "--precision", precision]
        assert main(args) == 0
        return open_zoo(out)

    fp32, bf16 = create("fp32"), create("bf16")
    assert (fp32.config.precision, bf16.config.precision) == ("fp32", "bf16")
    np.testing.assert_array_equal(bf16.weights[:, 0], fp32.weights[:, 0])  # same inits
    moved = np.abs(fp32.weights[:, 1] - fp32.weights[:, 0]).max()
    apart = np.abs(bf16.weights[:, 1] - fp32.weights[:, 1]).max()
    assert 0 < apart < moved
    assert (
        "4-8x slower than fp32" in capsys.readouterr().err
    )  # the bf16 build says what it costs here
    assert main(["zoo", "info", str(tmp_path / "bf16")]) == 0
    assert "bf16 training steps" in capsys.readouterr().out


def _subprocess(*args):
    return subprocess.run(
        [sys.executable, "-m", "hyperrep.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
    )


@pytest.fixture
def run_cli(capsys):
    """The command line in this process: (exit status, stderr). An exception other than
    the CLI's own errors propagates and fails the test, as a traceback would."""

    def run(*args):
        try:
            code = main(list(args))
        except SystemExit as exit_:  # argparse's usage errors
            code = exit_.code
        return SimpleNamespace(returncode=code, stderr=capsys.readouterr().err)

    return run


def test_entry_point_smoke():
    """One real subprocess: the module entry point, its exit status and one-line error."""
    unknown = _subprocess("zoo", "create", "tetris-sed", "--out", "/nonexistent/z")
    assert unknown.returncode == 2
    assert unknown.stderr.strip().count("\n") == 0 and "Traceback" not in unknown.stderr
    assert "unknown zoo preset 'tetris-sed'" in unknown.stderr and "tetris-seed" in unknown.stderr


def test_bad_input_is_one_line_without_traceback(tmp_path, run_cli):
    unknown = run_cli("zoo", "create", "tetris-sed", "--out", str(tmp_path / "z"))
    assert unknown.returncode == 2 and unknown.stderr.strip().count("\n") == 0

    blocker = tmp_path / "file"
    blocker.write_text("")
    unwritable = run_cli(
        "zoo", "create", "tetris-seed", "--out", str(blocker / "z"), "--models", "2"
    )
    assert unwritable.returncode == 2 and "cannot write a zoo" in unwritable.stderr
    assert "Traceback" not in unwritable.stderr

    not_zoo = run_cli("zoo", "info", str(tmp_path))
    assert not_zoo.returncode == 2 and "not a hyperrep zoo" in not_zoo.stderr

    missing = run_cli(
        "zoo",
        "create",
        "mnist-seed",
        "--out",
        str(tmp_path / "m"),
        "--models",
        "2",
        "--data-dir",
        str(tmp_path / "nowhere"),
    )
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "train-images-idx3-ubyte" in missing.stderr


def test_representation_commands_reject_bad_input_in_one_line(tmp_path, tiny_zoo, run_cli):
    cases = [
        (["train", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r")], "not a hyperrep zoo"),
        (
            ["train", str(tiny_zoo.path), "--out", str(tmp_path / "r"), "--compression", "0"],
            "compression ratio must be > 0",
        ),
        (
            ["train", str(tiny_zoo.path), "--out", str(tmp_path / "r"), "--device", "tpu"],
            "unknown device",
        ),
        (
            ["evaluate", str(tmp_path), str(tiny_zoo.path), "--out", str(tmp_path / "e")],
            "not a hyperrep run",
        ),
        (
            ["train", str(tiny_zoo.path), "--out", str(tmp_path / "r"), "--compression", "nan"],
            "compression ratio must be > 0",
        ),
        (
            ["train", str(tiny_zoo.path), "--out", str(tmp_path / "r"), "--lr", "-1"],
            "learning rate must be a positive number",
        ),
        (
            ["train", str(tiny_zoo.path), "--out", str(tmp_path / "r"), "--compression", "80"],
            "leaves a latent of 1 for 100 parameters; use at most 50",
        ),
        (
            [
                "train",
                str(tiny_zoo.path),
                "--out",
                str(tmp_path / "r"),
                "--behaviour-weight",
                "1",
                "--behaviour-pool",
                "8",
            ],
            "behaviour pool must be 0 or at least the 64 behaviour inputs, got 8",
        ),
    ]
    for args, message in cases:
        result = run_cli(*args)
        assert result.returncode == 2, args
        assert message in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "r").exists()  # nothing written for rejected input


def test_doctor_reports_each_architecture_path_and_the_data(idx_data, capsys, monkeypatch):
    monkeypatch.setenv("HYPERREP_NATIVE", "0")  # no build needed: the fallback is reported
    assert main(["doctor", "--data-dir", str(idx_data)]) == 0
    out = capsys.readouterr().out
    assert "hand-written MLP pass" in out.split("tetris-mlp", 1)[1].splitlines()[0]
    assert "generic PyTorch pass" in out.split("mnist-resnet", 1)[1].splitlines()[0]
    assert "unavailable: disabled by HYPERREP_NATIVE=0" in out
    assert str(idx_data / "mnist") in out


def _all_actions(parser, path=()):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _all_actions(sub, (*path, name))
        else:
            yield path, action


def test_every_option_has_help_text():
    from hyperrep.cli.main import build_parser

    missing = [
        f"{' '.join(path)} {action.dest}"
        for path, action in _all_actions(build_parser())
        if not action.help
    ]
    assert not missing, missing


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["zoo", "create", "tetris-seed", "--models", "2000"],
            "--models 2000 is more than the 1000",
        ),
        (["zoo", "create", "tetris-seed", "--models", "0"], "--models must be >= 1, got 0"),
        (["zoo", "create", "tetris-seed", "--epochs", "-1"], "--epochs must be >= 1, got -1"),
        (
            ["zoo", "create", "tetris-seed", "--address", "auto"],
            "--address applies to --backend ray only",
        ),
        (
            ["zoo", "create", "tetris-seed", "--backend", "ray", "--task-cpus", "0"],
            "--task-cpus must be > 0",
        ),
    ],
)
def test_zoo_flags_are_named_in_errors(tmp_path, run_cli, args, message):
    result = run_cli(*args, "--out", str(tmp_path / "z"))
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert not (tmp_path / "z").exists()


def test_another_zoo_names_the_setting_that_differs(tmp_path, run_cli):
    base = ["zoo", "create", "tetris-seed", "--models", "2", "--out", str(tmp_path / "z")]
    assert run_cli(*base, "--epochs", "1", "--quiet").returncode == 0
    result = run_cli(*base, "--epochs", "2")
    assert result.returncode == 2 and "epochs: 1 there, 2 asked" in result.stderr


def test_evaluate_refuses_an_unrelated_folder_and_bad_umap_points(tiny_zoo, tmp_path, run_cli):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    result = run_cli("evaluate", "baselines", str(tiny_zoo.path), "--out", str(tmp_path / "mine"))
    assert result.returncode == 2 and "neither empty nor a hyperrep report" in result.stderr
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"
    result = run_cli(
        "evaluate",
        "baselines",
        str(tiny_zoo.path),
        "--out",
        str(tmp_path / "r"),
        "--umap-points",
        "-5",
    )
    assert result.returncode == 2 and "--umap-points must be >= 0" in result.stderr


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (OSError(28, "No space left on device", "/zoo/weights.npy"), "no space left on the device"),
        (OSError(13, "Permission denied", "/zoo"), "permission denied"),
        (OSError(30, "Read-only file system", "/zoo"), "read-only"),
        (OSError(2, "No such file or directory", "/zoo/state"), "no such file or folder"),
        (RuntimeError("Error while serializing: IoError(No space left on device)"), "no space"),
    ],
)
def test_os_errors_are_one_line_without_a_traceback(monkeypatch, capsys, error, expected):
    import hyperrep.cli._doctor as doctor

    def fail(args):
        raise error

    monkeypatch.setattr(doctor, "run_doctor", fail)
    from hyperrep.cli.main import main

    assert main(["doctor"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and expected in err and "run the same command again" in err
    assert "Traceback" not in err


def test_other_errors_still_raise(monkeypatch):
    import hyperrep.cli._doctor as doctor

    def fail(args):
        raise ValueError("a bug")

    monkeypatch.setattr(doctor, "run_doctor", fail)
    from hyperrep.cli.main import main

    with pytest.raises(ValueError, match="a bug"):
        main(["doctor"])


def test_evaluate_weight_limit_is_checked_and_its_count_printed(tiny_zoo, tmp_path, capsys):
    from hyperrep.zoo import load_checkpoints

    report = ["evaluate", "baselines", str(tiny_zoo.path), "--out", str(tmp_path / "r")]
    with pytest.raises(SystemExit) as refused:
        main([*report, "--weight-limit", "-1"])
    assert refused.value.code == 2 and "must be a positive number" in capsys.readouterr().err
    largest = load_checkpoints(tiny_zoo).weights.abs().amax(dim=1)
    limit = float(largest.median())
    assert main([*report, "--weight-limit", repr(limit), "--umap-points", "0", "--quiet"]) == 0
    left_out = int((largest > limit).sum())
    assert f"checkpoints left out for a |weight| above {limit:g}: {left_out}" in (
        capsys.readouterr().out
    )
