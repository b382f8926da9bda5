"""Damaged and hostile zoo and run files: every command that reads them answers with one
clear line (exit 2), never a traceback and never a silently wrong result."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from safetensors.torch import load_file

from hyperrep import HyperrepError
from hyperrep.cli.main import main
from hyperrep.representation import train_representation
from hyperrep.zoo import create_zoo


def _truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _extend(path):
    with open(path, "ab") as fh:
        fh.write(b"\0" * 400)


def _flip_value(zoo):
    """Change one stored weight of a healthy model by a small amount (a silent error)."""
    arr = np.load(zoo / "weights.npy", mmap_mode="r+")
    arr[3, 2, 7] += 0.125
    arr.flush()


def _plant_nan(zoo):
    arr = np.load(zoo / "weights.npy", mmap_mode="r+")
    arr[5, 1, 0] = np.nan
    arr.flush()


def _other_architecture(zoo):
    meta = json.loads((zoo / "zoo.json").read_text())
    meta["architecture"]["layers"][0]["out_features"] = 6
    (zoo / "zoo.json").write_text(json.dumps(meta))


def _same_size_architecture(zoo):
    """16-4-9 for the Tetris 16-5-4 MLP: the same 100 parameters, so every shape agrees."""
    meta = json.loads((zoo / "zoo.json").read_text())
    first, _, last = meta["architecture"]["layers"]
    assert (first["out_features"], last["out_features"]) == (5, 4)
    first["out_features"] = last["in_features"] = 4
    last["out_features"] = 9
    (zoo / "zoo.json").write_text(json.dumps(meta))


def _edit_table(zoo, edit):
    path = zoo / "properties" / "chunk-00000.parquet"
    table = pd.read_parquet(path)
    edit(table)
    table.to_parquet(path, index=False)


def _ids_as_text(table):
    table["model_id"] = [f"m{i}" for i in table["model_id"]]


def _rows_of_another_model(table):
    table.loc[table["model_index"] == 1, "model_index"] = 0


ZOO_DAMAGE = {
    "weights truncated": lambda z: _truncate(z / "weights.npy"),
    "weights extended": lambda z: _extend(z / "weights.npy"),
    "weights random bytes": lambda z: (z / "weights.npy").write_bytes(
        np.random.default_rng(0).bytes(5000)
    ),
    "weights pickled object": lambda z: np.save(
        z / "weights.npy", np.array([{}], dtype=object), allow_pickle=True
    ),
    "weights deleted": lambda z: (z / "weights.npy").unlink(),
    "weight value changed": _flip_value,
    "nan in a healthy model": _plant_nan,
    "zoo.json a list": lambda z: (z / "zoo.json").write_text("[1, 2, 3]"),
    "zoo.json garbage": lambda z: (z / "zoo.json").write_text("{not json"),
    "zoo.json other architecture": _other_architecture,
    "zoo.json same-size architecture": _same_size_architecture,
    "progress.json garbage": lambda z: (z / "progress.json").write_text('{"done": "x"}'),
    "properties deleted": lambda z: (z / "properties" / "chunk-00000.parquet").unlink(),
    "properties truncated": lambda z: _truncate(z / "properties" / "chunk-00000.parquet"),
    "properties model ids as text": lambda z: _edit_table(z, _ids_as_text),
    "properties rows of another model": lambda z: _edit_table(z, _rows_of_another_model),
    "properties metric column dropped": lambda z: _edit_table(z, lambda t: t.pop("test_acc")),
}
# commands that read weights values; `zoo info` reads only the metadata and properties
VALUE_DAMAGE = {"weight value changed", "nan in a healthy model"}


@pytest.fixture()
def zoo_copy(tiny_zoo, tmp_path):
    dst = tmp_path / "zoo"
    shutil.copytree(tiny_zoo.path, dst)
    return dst


def _commands(zoo, tmp_path):
    return {
        "zoo info": ["zoo", "info", str(zoo)],
        "zoo verify": ["zoo", "verify", str(zoo)],
        "evaluate baselines": [
            "evaluate",
            "baselines",
            str(zoo),
            "--out",
            str(tmp_path / "r"),
            "--umap-points",
            "0",
        ],
    }


def _one_line_error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err
    assert code in (1, 2), (argv, code, err)
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("hyperrep: error: "), err
    return err


def test_untouched_copy_passes_every_command(zoo_copy, tmp_path, capsys):
    for argv in _commands(zoo_copy, tmp_path).values():
        assert main(argv) == 0, argv


@pytest.mark.parametrize("damage", sorted(ZOO_DAMAGE))
def test_damaged_zoo(damage, zoo_copy, tiny_zoo, tmp_path, capsys):
    ZOO_DAMAGE[damage](zoo_copy)
    for name, argv in _commands(zoo_copy, tmp_path).items():
        if name == "zoo info" and damage in VALUE_DAMAGE:
            assert main(argv) == 0  # metadata only: nothing it prints is wrong
            continue
        _one_line_error(capsys, argv)
    # resuming or completing over the damage is refused, and nothing is written
    before = {p.name: p.stat().st_mtime_ns for p in zoo_copy.rglob("*")}
    with pytest.raises(HyperrepError, match="damaged|not a hyperrep zoo|cannot read|inconsistent"):
        create_zoo(tiny_zoo.config, zoo_copy, progress=False)
    after = {
        p.name: p.stat().st_mtime_ns
        for p in zoo_copy.rglob("*")
        if not p.name.startswith(".hyperrep.lock")
    }
    assert {k: v for k, v in before.items() if not k.startswith(".hyperrep.lock")} == after


@pytest.fixture(scope="module")
def tiny_run(tiny_zoo, tiny_run_config, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "r"
    config = tiny_run_config("ed")
    train_representation(tiny_zoo, config, out, progress=False)
    return out


def _bad_safetensors(path):
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{bad header}....")


RUN_DAMAGE = {
    "run.json garbage": lambda r: (r / "run.json").write_text("[1]"),
    "run.json missing": lambda r: (r / "run.json").unlink(),
    "model truncated": lambda r: _truncate(r / "model.safetensors"),
    "model bad header": lambda r: _bad_safetensors(r / "model.safetensors"),
    "model random bytes": lambda r: (r / "model.safetensors").write_bytes(b"\x93NUMPY" * 100),
    "model of other shapes": lambda r: shutil.copy(
        r / "other.safetensors", r / "model.safetensors"
    ),
}


@pytest.mark.parametrize("damage", sorted(RUN_DAMAGE))
def test_damaged_run(damage, tiny_run, tiny_zoo, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    tensors = load_file(str(run / "model.safetensors"))
    from safetensors.torch import save_file

    save_file(
        {k: v[..., :1].contiguous() if v.ndim else v for k, v in tensors.items()},
        str(run / "other.safetensors"),
    )
    RUN_DAMAGE[damage](run)
    _one_line_error(
        capsys, ["embed", str(run), str(tiny_zoo.path), "--out", str(tmp_path / "z.parquet")]
    )
    _one_line_error(
        capsys,
        [
            "evaluate",
            str(run),
            str(tiny_zoo.path),
            "--out",
            str(tmp_path / "rep"),
            "--umap-points",
            "0",
        ],
    )
