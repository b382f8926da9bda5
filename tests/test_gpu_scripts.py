"""The GPU scripts, run on the CPU with tiny sizes (DEVICE=cpu) so that they cannot rot
unseen: they finish, write at most 8 files none deeper than two folders, and print their
summary."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(script: str, out: Path, data: Path, **env: str) -> str:
    done = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / script)],
        cwd=ROOT,
        env={
            **os.environ,
            "OUT": str(out),
            "DATA_DIR": str(data),
            "DEVICE": "cpu",
            "PYTHON": sys.executable,
            "PYTHONPATH": str(ROOT / "src"),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) <= 8 and all(len(p.relative_to(out).parts) <= 3 for p in files), files
    return done.stdout


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_gpu_check_dry_run(tmp_path, idx_data):
    out = _run(
        "gpu_check.sh",
        tmp_path / "check",
        idx_data,
        TETRIS_MODELS="20",
        CNN_MODELS="4",
        SUBSET="600",
    )
    summary = (tmp_path / "check" / "summary.txt").read_text()
    assert summary in out or summary.splitlines()[0] in out
    for line in ("agreement", "speed-up", "on cpu:", "max |w_cpu - w_cpu| 0.00e+00", "bf16: "):
        assert line in summary, summary
    assert (tmp_path / "check" / "check.tar.gz").is_file()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_gpu_table6_dry_run(tmp_path, idx_data):
    out = _run(
        "gpu_table6.sh",
        tmp_path / "t6",
        idx_data,
        MODELS="12",
        RUN_EPOCHS="1",
        PERMUTATIONS="2",
    )
    summary = (tmp_path / "t6" / "summary.txt").read_text()
    assert "Table 6 on cpu: 12 models per zoo" in summary and "Acc" in summary
    assert "trained on MNIST, tested on FASHION" in summary
    assert "results in" in out and (tmp_path / "t6" / "results.tar.gz").is_file()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_gpu_generate_dry_run(tmp_path, idx_data):
    """Every step of the issue-33 pipeline runs and is packed, the transfer included; at
    the end it stops its own steps only, not other hyperrep processes."""
    bystander = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)", "hyperrep.cli.main"]
    )
    try:
        out = _run(
            "gpu_generate.sh",
            tmp_path / "gen",
            idx_data,
            MODELS="10",
            RUN_EPOCHS="1",
            FINETUNE="1",
            N_SAMPLES="4",
            HYP_MODELS="4",
            DEADLINE="800",
        )
        summary = (tmp_path / "gen" / "summary.txt").read_text()
        assert "FAILED" not in summary, summary
        for step in ("zoo-mnist", "zoo-fashion", "run-w0", "run-w30", "decode-w30", "kde30-w30",
                     "bkde30", "transfer-w30", "report", "hyp-speed", "cpu-vs-device"):  # fmt: skip
            assert f"\n{step}: " in summary, step
        assert "max |w_cpu - w_cpu| 0.00e+00" in summary  # cpu against cpu
        assert "samples fine-tuned (median)" in summary and "packed at" in out
        assert bystander.poll() is None, "the script stopped a process that is not its own"
    finally:
        bystander.kill()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_gpu_step_profile_dry_run(idx_data):
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu_step_profile.py"), "--device", "cpu",
         "--data-dir", str(idx_data / "mnist"), "--models", "4", "--images", "40"],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    for line in ("benchmark True", "TF32 on", "TF32 off", "operations per step", "im2col+bmm"):
        assert line in done.stdout, done.stdout
