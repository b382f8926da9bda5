"""`hyperrep --help` and `hyperrep zoo presets` start without loading the heavy
libraries (torch alone takes seconds to import); each loads on first use."""

from __future__ import annotations

import os
import subprocess
import sys

HEAVY = ("torch", "pandas", "sklearn", "scipy", "matplotlib", "umap")

_PROBE = """
import sys
from hyperrep.cli.main import build_parser, main
build_parser()
{call}
print("loaded:" + ",".join(m for m in {heavy!r} if m in sys.modules))
"""


def _loaded_after(call: str) -> list[str]:
    code = _PROBE.format(call=call, heavy=HEAVY)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=240
    )
    line = done.stdout.strip().splitlines()[-1]
    assert line.startswith("loaded:"), done.stdout
    return [m for m in line.removeprefix("loaded:").split(",") if m]


def test_help_and_presets_load_no_heavy_library():
    assert _loaded_after("") == []
    assert _loaded_after("main(['zoo', 'presets'])") == []


def test_public_names_still_resolve_on_first_use():
    import hyperrep
    from hyperrep import arch, data, pipeline, zoo

    assert hyperrep.Zoo is zoo.Zoo and hyperrep.create_zoo is zoo.create_zoo
    assert callable(arch.to_module) and callable(pipeline.reproduce)
    assert "tetris" in data.list_datasets() and "mnist" in data.list_datasets()
    assert "Zoo" in dir(zoo)
    for package in (hyperrep, arch, data, pipeline, zoo):
        for name in package.__all__:
            assert getattr(package, name) is not None, (package.__name__, name)


def test_the_library_leaves_the_environment_alone_and_the_cli_sets_the_spin_count():
    code = (
        "import os; os.environ.pop('GOMP_SPINCOUNT', None); os.environ.pop('OMP_WAIT_POLICY',"
        " None); import hyperrep, hyperrep.zoo; a = os.environ.get('GOMP_SPINCOUNT'); "
        "import hyperrep.cli.main; print(a, os.environ.get('GOMP_SPINCOUNT'))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=240,
        env=env,
    )
    assert done.stdout.split() == ["None", "3000"]
