"""The compiled-kernel cache loads only what this user built."""

import os
import stat

import pytest

from hyperrep.population import _native
from hyperrep.population._native import NativeUnavailable, build_library

pytestmark = pytest.mark.needs_cc


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("HYPERREP_CACHE", str(folder))
    return folder


@pytest.mark.slow
def test_a_build_is_recorded_reused_and_a_planted_library_never_loaded(cache):
    lib = build_library()
    record = lib.with_name(lib.name + ".sha256")
    assert record.is_file() and stat.S_IMODE(cache.stat().st_mode) == 0o700
    mtime = lib.stat().st_mtime_ns
    assert build_library() == lib and lib.stat().st_mtime_ns == mtime  # no rebuild
    # a library at the predictable name that is not the recorded build is replaced
    lib.write_bytes(b"\x7fELF planted")
    assert build_library() == lib and lib.read_bytes() != b"\x7fELF planted"
    # and one without a record too
    record.unlink()
    lib.write_bytes(b"\x7fELF planted")
    build_library()
    assert lib.read_bytes() != b"\x7fELF planted" and record.is_file()


def test_a_cache_others_can_write_is_refused(cache):
    cache.mkdir(mode=0o700)
    os.chmod(cache, 0o777)
    with pytest.raises(NativeUnavailable, match="writable by others"):
        build_library()


def test_a_hanging_compiler_times_out(cache, monkeypatch, tmp_path):
    slow = tmp_path / "slowcc"
    slow.write_text("#!/bin/sh\nsleep 30\n")
    slow.chmod(0o755)
    monkeypatch.setenv("CC", str(slow))
    monkeypatch.setattr(_native, "_BUILD_TIMEOUT_S", 1)
    with pytest.raises(NativeUnavailable, match="took over 1 s"):
        build_library()


@pytest.mark.slow
def test_a_compiler_without_openmp_gets_a_serial_build(cache, monkeypatch, tmp_path):
    """Like Apple's clang: -fopenmp is refused, so the kernels are built without it."""
    import ctypes
    import shutil

    real = shutil.which(os.environ.get("CC", "cc"))
    wrapper = tmp_path / "clang-like"
    wrapper.write_text(
        '#!/bin/sh\nfor a in "$@"; do\n  if [ "$a" = -fopenmp ]; then\n'
        "    echo \"clang: error: unsupported option '-fopenmp'\" >&2; exit 1\n  fi\ndone\n"
        f'exec {real} "$@"\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("CC", str(wrapper))
    lib = ctypes.CDLL(str(build_library()))
    assert lib.has_openmp() == 0
