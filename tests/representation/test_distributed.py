"""Training under torchrun: N ranks compute the gradient one process computes on the
same batch, and train the model one process trains (up to float rounding)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file

from hyperrep.representation import Ranks, load_checkpoints, representation_preset
from hyperrep.representation._train import Trainer
from hyperrep.zoo import open_zoo

SUBPROCESS_TIMEOUT = 240  # s: a hung child fails the test instead of stalling the suite

_BATCH = 7  # shards of 4 and 3 rows: the uneven case


def _config(zoo):
    config = representation_preset("tetris-seed")
    config = replace(config, model=replace(config.model, d_model=32, d_ff=64, dropout=0.0))
    config = replace(config, train=replace(config.train, cpu_bf16=False, batch_size=_BATCH))
    return config.with_compression(zoo.architecture.n_params, 2)


def _gradients(zoo_path: str, ranks: Ranks) -> dict[str, torch.Tensor]:
    zoo = open_zoo(zoo_path)
    config = _config(zoo)
    data = load_checkpoints(zoo, 0, include_init=False)
    trainer = Trainer(zoo.architecture, config, data, "cpu", ranks)
    loss, _ = trainer._loss(trainer.train_x[:_BATCH], torch.Generator().manual_seed(3), True)
    loss.backward()
    ranks.average_gradients(trainer.model.parameters())
    return {name: p.grad.clone() for name, p in trainer.model.named_parameters()}


def _rank_main(rank: int, world: int, zoo_path: str, folder: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", init_method=f"file://{folder}/store", rank=rank, world_size=world
    )
    try:
        save_file(_gradients(zoo_path, Ranks(rank, world)), f"{folder}/grad-{rank}.safetensors")
    finally:
        dist.destroy_process_group()


def test_shards_cover_a_batch_in_order():
    assert Ranks(0, 3).shard_sizes(7) == [3, 2, 2]
    assert [Ranks(r, 3).shard(7) for r in range(3)] == [slice(0, 3), slice(3, 5), slice(5, 7)]
    assert Ranks().shard(5) == slice(0, 5) and not Ranks().distributed


def test_two_ranks_compute_the_single_process_gradient(tiny_zoo, tmp_path):
    alone = _gradients(str(tiny_zoo.path), Ranks())
    mp.spawn(_rank_main, args=(2, str(tiny_zoo.path), str(tmp_path)), nprocs=2, join=True)
    # one scale for all: some gradients are zero in exact arithmetic (a bias before
    # BatchNorm) and rounding noise in both computations
    scale = max(g.abs().max().item() for g in alone.values())
    assert scale > 0
    for rank in range(2):
        shared = load_file(str(tmp_path / f"grad-{rank}.safetensors"))
        assert shared.keys() == alone.keys()
        for name, grad in alone.items():
            assert torch.allclose(shared[name], grad, atol=1e-5 * scale, rtol=1e-4), name


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("torchrun") is None and not Path(sys.executable).with_name("torchrun").exists(),
    reason="torchrun (installed with torch) not found",
)
def test_torchrun_trains_the_model_one_process_trains(tiny_zoo, tmp_path):
    torchrun = Path(sys.executable).with_name("torchrun")
    args = [
        "train",
        str(tiny_zoo.path),
        "--epochs",
        "2",
        "--batch-size",
        "16",
        "--d-model",
        "32",
        "--d-ff",
        "64",
        "--dropout",
        "0",
        "--no-bf16",
        "--quiet",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    one = subprocess.run(
        [sys.executable, "-m", "hyperrep.cli.main", *args, "--out", str(tmp_path / "one")],
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
    )
    assert one.returncode == 0, one.stderr
    two = subprocess.run(
        [
            str(torchrun),
            "--nproc-per-node",
            "2",
            "--standalone",
            "-m",
            "hyperrep.cli.main",
            *args,
            "--out",
            str(tmp_path / "two"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
    )
    assert two.returncode == 0, two.stderr
    assert two.stdout.count("run written to") == 1  # rank 0 reports
    histories = [json.loads((tmp_path / r / "history.json").read_text()) for r in ("one", "two")]
    for a, b in zip(*histories, strict=True):
        for key in ("train_loss", "train_contrastive", "train_reconstruction"):
            assert b[key] == pytest.approx(a[key], rel=1e-4), key
        assert b["val_loss"] == pytest.approx(a["val_loss"], rel=1e-3)
    weights = [load_file(str(tmp_path / r / "model.safetensors")) for r in ("one", "two")]
    names = [k for k, v in weights[0].items() if k.startswith("model.") and v.is_floating_point()]
    flat = [torch.cat([w[k].flatten().double() for k in names]) for w in weights]
    # Adam turns rounding noise in gradients that are zero in exact arithmetic (biases
    # before BatchNorm, attention key biases) into lr-sized steps: compare the whole vector
    assert (flat[0] - flat[1]).norm() / flat[0].norm() < 1e-2
    assert not (tmp_path / "two" / "rank1").exists()


_SCRIPT = """
import json, sys
from hyperrep.representation import RunConfig, train_representation
from hyperrep.zoo import open_zoo

config = RunConfig.from_dict(json.loads(open(sys.argv[3]).read()))
train_representation(open_zoo(sys.argv[1]), config, sys.argv[2], progress=False)
"""


class _Stop(Exception):
    pass


@pytest.mark.slow
def test_torchrun_resumes_a_run_from_its_last_epoch(tiny_zoo, tmp_path):
    from hyperrep.representation import train_representation

    config = _config(tiny_zoo)
    config = replace(config, train=replace(config.train, epochs=2, batch_size=16))
    (tmp_path / "config.json").write_text(json.dumps(config.to_dict()))
    (tmp_path / "train.py").write_text(_SCRIPT)
    train_representation(tiny_zoo, config, tmp_path / "whole", progress=False)

    def stop(epoch):
        raise _Stop

    with pytest.raises(_Stop):
        train_representation(tiny_zoo, config, tmp_path / "part", progress=False, on_epoch=stop)
    torchrun = Path(sys.executable).with_name("torchrun")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [
            str(torchrun),
            "--nproc-per-node",
            "2",
            "--standalone",
            str(tmp_path / "train.py"),
            str(tiny_zoo.path),
            str(tmp_path / "part"),
            str(tmp_path / "config.json"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
    )
    assert done.returncode == 0, done.stderr
    histories = [json.loads((tmp_path / r / "history.json").read_text()) for r in ("whole", "part")]
    assert [h["epoch"] for h in histories[1]] == [1, 2]
    assert histories[1][0] == histories[0][0]  # epoch 1 is the single process's, kept
    assert histories[1][1]["train_loss"] == pytest.approx(histories[0][1]["train_loss"], rel=1e-4)
