from pathlib import Path

from hyperrep._home import data_home
from hyperrep.cli._reproduce import default_reproduce_folder
from hyperrep.cli.main import main


def test_data_home_follows_hyperrep_home_then_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("HYPERREP_HOME", str(tmp_path / "home"))
    assert data_home() == tmp_path / "home"
    assert default_reproduce_folder("mnist-seed") == tmp_path / "home" / "reproduce" / "mnist-seed"
    monkeypatch.delenv("HYPERREP_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert data_home() == tmp_path / "xdg" / "hyperrep"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert data_home() == Path.home() / ".local" / "share" / "hyperrep"


def test_doctor_names_the_data_home(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("HYPERREP_HOME", str(tmp_path))
    assert main(["doctor"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("data home"))
    assert str(tmp_path) in line


def test_cache_home_follows_hyperrep_cache_then_xdg_and_serves_data_and_kernels(
    monkeypatch, tmp_path
):
    from hyperrep._home import cache_home
    from hyperrep.data.mnist import cache_dir
    from hyperrep.population._native import _cache_dir

    monkeypatch.setenv("HYPERREP_CACHE", str(tmp_path / "cache"))
    assert cache_home() == _cache_dir() == tmp_path / "cache"
    assert cache_dir("mnist") == tmp_path / "cache" / "mnist"
    monkeypatch.delenv("HYPERREP_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_home() == _cache_dir() == tmp_path / "xdg" / "hyperrep"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_home() == Path.home() / ".cache" / "hyperrep"


def test_the_suite_runs_in_its_own_folders():
    import os

    home = Path.home()
    for variable in ("HYPERREP_CACHE", "HYPERREP_HOME"):
        assert home not in Path(os.environ[variable]).parents, variable
