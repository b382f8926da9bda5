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
