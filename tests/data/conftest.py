"""Shared fixtures: the real IDX files under ../shared/data and an isolated environment."""

from __future__ import annotations

from pathlib import Path
from urllib.error import URLError

import pytest

from hyperrep.data import mnist

# tests/data/conftest.py -> parents[2] is the repository root
SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The folder with the real mnist/ and fashion-mnist/ files; the tests of the real
    files are skipped, with the reason, where it is missing (every other test uses
    synthetic files, the `idx_data` fixture)."""
    root = SHARED_DATA.resolve()
    missing = [
        f"{name}/{stem}.gz"
        for name in ("mnist", "fashion-mnist")
        for stem in mnist.IDX_FILES.values()
        if not (root / name / f"{stem}.gz").is_file()
    ]
    if missing:
        pytest.skip(f"real MNIST / Fashion-MNIST files missing under {root}: {', '.join(missing)}")
    return root


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No HYPERREP_DATA_DIR, a private cache folder, and no network unless a test allows it."""
    monkeypatch.delenv(mnist.DATA_DIR_ENV, raising=False)
    monkeypatch.delenv("HYPERREP_CACHE", raising=False)  # the XDG fallback, per test
    cache = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))

    def no_network(url: str, timeout: float | None = None) -> None:
        raise URLError(f"network disabled in tests ({url})")

    monkeypatch.setattr(mnist, "urlopen", no_network)
    return cache
