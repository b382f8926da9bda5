"""The C convolution kernels: compiled once per machine with the system's C compiler.

The source ships with the package (`_kernels/conv.c`); the shared library is built on
first use into the cache folder (`hyperrep._home.cache_home`: $HYPERREP_CACHE,
$XDG_CACHE_HOME/hyperrep or ~/.cache/hyperrep) under a
name that hashes the source, the flags and the CPU, so a changed kernel or another
machine builds its own. A cached library is loaded only from a folder this user owns
and nobody else can write, and only if its SHA-256 matches the one recorded when it was
built; builds are locked (one compiler run per machine at a time) and time out. Without
a compiler the population trainer falls back to PyTorch's convolutions (same results,
slower); HYPERREP_NATIVE=0 forces that path.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import stat
import subprocess
import tempfile
import warnings
from functools import cache
from pathlib import Path

import torch
from filelock import FileLock, Timeout

from hyperrep._home import cache_home

_SOURCE = Path(__file__).with_name("_kernels") / "conv.c"
_BASE_FLAGS = ("-O3", "-shared", "-fPIC")
_OPENMP_FLAG = "-fopenmp"


def _flags() -> tuple[str, ...]:
    """Compiler flags: -march from HYPERREP_KERNEL_MARCH (default "native": the vector
    width of this CPU; e.g. "x86-64-v3" for an AVX2 build), and OpenMP."""
    march = os.environ.get("HYPERREP_KERNEL_MARCH", "native")
    return (*_BASE_FLAGS, f"-march={march}", _OPENMP_FLAG)


LANES = 16  # floats per vector in the kernels (the lane axis is a multiple of it)
POOLS = (1, 2)  # max-pool windows the kernels fuse (1: no pooling)
FUSED_ACTIVATIONS = ("tanh", "sigmoid", "relu")  # derivatives the backward kernel applies


class NativeUnavailable(RuntimeError):
    """The kernels could not be built or loaded here."""


def _cpu_id() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor()
    flags = [line for line in text.splitlines() if line.startswith(("model name", "flags"))]
    return "\n".join(flags[:2])


def _cache_dir() -> Path:
    return cache_home()


_BUILD_TIMEOUT_S = 300


def _private_dir(path: Path) -> Path:
    """`path`, created if missing (mode 0700), after checking that it is a folder owned by
    this user that nobody else can write to: a library loaded from it runs as us."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode):
        raise NativeUnavailable(f"kernel cache {path} is not a folder")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise NativeUnavailable(
            f"kernel cache {path} belongs to another user; set "
            "HYPERREP_CACHE to a folder of your own"
        )
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise NativeUnavailable(
            f"kernel cache {path} is writable by others "
            f"(mode {stat.filemode(info.st_mode)}); chmod go-w it"
        )
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _trusted(target: Path) -> bool:
    """True if `target` is the library this user built: its own regular file, not writable
    by others, whose SHA-256 matches the one recorded at build time."""
    record = target.with_name(target.name + ".sha256")
    try:
        info, record_info = target.lstat(), record.lstat()
        recorded = record.read_text().strip()
    except OSError:
        return False
    mine = not hasattr(os, "getuid") or info.st_uid == record_info.st_uid == os.getuid()
    private = not ((info.st_mode | record_info.st_mode) & (stat.S_IWGRP | stat.S_IWOTH))
    return stat.S_ISREG(info.st_mode) and mine and private and _digest(target) == recorded


def build_library() -> Path:
    """Compile the kernels (if no trusted build is cached) and return the library's path."""
    compiler = os.environ.get("CC", "cc")
    key = hashlib.sha256(
        _SOURCE.read_bytes() + " ".join((compiler, *_flags())).encode() + _cpu_id().encode()
    ).hexdigest()[:16]
    cache_dir = _private_dir(_cache_dir())
    target = cache_dir / f"conv-{key}.so"
    if _trusted(target):
        return target
    try:  # one builder at a time; the others wait, then find its build
        with FileLock(cache_dir / f"conv-{key}.lock", timeout=_BUILD_TIMEOUT_S + 60):
            if not _trusted(target):
                _compile(compiler, target)
    except Timeout:
        raise NativeUnavailable(
            "another process has been building the kernels for too long"
        ) from None
    return target


def _compile(compiler: str, target: Path) -> None:
    """Build into a private temporary folder, then move the library and its recorded
    SHA-256 into place. A compiler without OpenMP (Apple clang) gets a second, serial
    build rather than none."""
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        built = Path(tmp) / target.name
        flags = _flags()
        try:
            _run_compiler(compiler, flags, built)
        except NativeUnavailable as err:
            if not any(k in str(err).lower() for k in ("openmp", "gomp", "omp.h")):
                raise
            _run_compiler(compiler, tuple(f for f in flags if f != _OPENMP_FLAG), built)
        os.chmod(built, 0o700)
        record = Path(tmp) / (target.name + ".sha256")
        record.write_text(_digest(built))
        os.chmod(record, 0o600)
        os.replace(built, target)  # the library first, then the record that vouches for it
        os.replace(record, target.with_name(target.name + ".sha256"))


def _run_compiler(compiler: str, flags: tuple[str, ...], out: Path) -> None:
    try:
        subprocess.run(
            [compiler, *flags, "-o", str(out), str(_SOURCE)],
            check=True,
            capture_output=True,
            text=True,
            timeout=_BUILD_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        raise NativeUnavailable(f"{compiler} took over {_BUILD_TIMEOUT_S} s") from None
    except (OSError, subprocess.CalledProcessError) as err:
        detail = getattr(err, "stderr", "") or str(err)
        raise NativeUnavailable(f"{compiler} failed: {detail.strip()[:500]}") from err


@cache
def _library() -> ctypes.CDLL:
    if os.environ.get("HYPERREP_NATIVE", "1") == "0":
        raise NativeUnavailable("disabled by HYPERREP_NATIVE=0")
    lib = ctypes.CDLL(str(build_library()))
    ptr, i32 = ctypes.c_void_p, ctypes.c_int
    i64 = ctypes.c_long
    lib.conv_forward.argtypes = [ptr, i64] + [ptr] * 6 + [i32] * 9
    lib.conv_forward.restype = None
    lib.conv_backward.argtypes = [ptr, ptr, i32, ptr, ptr, i64] + [ptr] * 5 + [i32] * 9
    lib.conv_backward.restype = i32
    lib.flush_subnormal.argtypes = [ptr, i64]
    lib.flush_subnormal.restype = None
    lib.set_threads.argtypes = [i32]
    lib.has_openmp.restype = i32
    return lib


def kernel_report() -> dict[str, object]:
    """What `hyperrep doctor` says about the kernels: built or why not, where, with which
    flags, and whether they run threads (OpenMP)."""
    compiler = os.environ.get("CC", "cc")
    info: dict[str, object] = {"compiler": compiler, "flags": " ".join(_flags())}
    if os.environ.get("HYPERREP_NATIVE", "1") == "0":  # checked here: _library is cached
        return {**info, "available": False, "reason": "disabled by HYPERREP_NATIVE=0"}
    try:
        lib = _library()
    except (NativeUnavailable, OSError) as err:
        return {**info, "available": False, "reason": str(err)}
    return {
        **info,
        "available": True,
        "library": str(build_library()),
        "openmp": bool(lib.has_openmp()),
        "lanes": LANES,
    }


@cache
def native_available() -> bool:
    """True if the C kernels are built and loaded (warns once, with the reason, if not)."""
    try:
        _library()
    except (NativeUnavailable, OSError) as err:
        if os.environ.get("HYPERREP_NATIVE", "1") != "0":
            warnings.warn(
                f"C convolution kernels unavailable, CNN zoos train on the slower PyTorch "
                f"path: {err}",
                stacklevel=2,
            )
        return False
    return True


def flush_subnormal_native_(t: torch.Tensor) -> bool:
    """Zero t's subnormal entries in place on the C kernels, if they are already loaded
    and t is a contiguous float32 CPU tensor; False (t untouched) otherwise. Never builds
    the kernels: MLP zoos, which do not need them, keep the PyTorch path."""
    if _library.cache_info().currsize == 0 or t.dtype != torch.float32:
        return False
    if t.device.type != "cpu" or not t.is_contiguous():
        return False
    _library().flush_subnormal(_p(t), t.numel())
    return True


def _p(t: torch.Tensor | None) -> ctypes.c_void_p:
    return ctypes.c_void_p(None if t is None else t.data_ptr())


def _dims(x: torch.Tensor, w: torch.Tensor, pool: int, group: int) -> tuple[int, ...]:
    """Kernel arguments (M, C, H, W, O, K, P, B), after checking x, w and the lane group.

    M counts lane groups: models / group (x holds one row per group, w one per model).
    """
    if x.ndim != 5 or w.ndim != 5 or pool not in POOLS or group < 1:
        raise ValueError(f"bad kernel operands: x {tuple(x.shape)}, w {tuple(w.shape)}")
    _, c, h, wd, b = x.shape
    models, o, _, k, _ = w.shape
    m = models // group
    rows_ok = x.shape[0] == m if group > 1 else x.shape[0] in (1, m)
    ok = b % LANES == 0 and b % group == 0 and models % group == 0 and rows_ok
    if not ok or w.shape[2:] != (c, k, k) or k > min(h, wd):
        raise ValueError(
            f"bad kernel operands: x {tuple(x.shape)}, w {tuple(w.shape)}, group {group}"
        )
    return m, c, h, wd, o, k, pool, b


def _out_shape(dims: tuple[int, ...]) -> tuple[int, ...]:
    m, _, h, wd, o, k, pool, b = dims
    return m, o, (h - k + 1) // pool, (wd - k + 1) // pool, b


def _check(expected: dict[str, tuple[int, ...]], **tensors: torch.Tensor | None) -> None:
    """The kernels read raw memory: every operand must be a contiguous float32 CPU tensor
    of the expected shape."""
    for name, t in tensors.items():
        if t is None or t.dtype != torch.float32 or not t.is_contiguous() or t.is_cuda:
            raise ValueError(f"kernel operand {name} must be a contiguous float32 CPU tensor")
        if name in expected and tuple(t.shape) != expected[name]:
            raise ValueError(
                f"kernel operand {name}: shape {tuple(t.shape)}, expected {expected[name]}"
            )


def _x_stride(x: torch.Tensor, models: int) -> int:
    return 0 if x.shape[0] == 1 and models > 1 else x[0].numel()


def conv_forward(
    x: torch.Tensor, w: torch.Tensor, bias: torch.Tensor, *, pool: int = 1, group: int = 1
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Convolution + bias, then max pooling over pool x pool windows (1: none).

    x is (M, C, H, W, B), or (1, C, H, W, B) shared by all models, w (M, O, C, K, K),
    bias (M, O). With `group` > 1 the lanes are interleaved: x is (M / group, C, H, W, B)
    and lane l holds image l % (B / group) of model row * group + l // (B / group).
    Returns the output (M / group, O, PH, PW, B) for M models (w's rows), which window
    element was the maximum (when pooling), and the expanded lane weights that
    `conv_backward` needs (group > 1, else None).
    """
    dims = _dims(x, w, pool, group)
    _check({"bias": tuple(w.shape[:2])}, x=x, w=w, bias=bias)
    lib = _library()
    lib.set_threads(torch.get_num_threads())
    out = x.new_empty(_out_shape(dims))
    idx = torch.empty_like(out) if pool > 1 else None
    lanes = x.new_empty(dims[0], w[0].numel() * dims[-1]) if group > 1 else None
    bias_lanes = x.new_empty(dims[0], w.shape[1] * dims[-1]) if group > 1 else None
    lib.conv_forward(
        _p(x),
        _x_stride(x, dims[0]),
        _p(w),
        _p(bias),
        _p(out),
        _p(idx),
        _p(lanes),
        _p(bias_lanes),
        *dims,
        group,
    )
    return out, idx, lanes


def conv_backward(
    g: torch.Tensor,
    idx: torch.Tensor | None,
    x: torch.Tensor,
    w: torch.Tensor,
    pool: int,
    input_grad: bool,
    *,
    activation: str | None = None,
    activated: torch.Tensor | None = None,
    group: int = 1,
    lanes: torch.Tensor | None = None,
) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor]:
    """Gradients (input or None, filters, bias) of `conv_forward`.

    g is the gradient of its output or, with `activation` (one of FUSED_ACTIVATIONS),
    of that activation applied to it; `activated` then holds the activation's output.
    With `group` > 1, `lanes` are the lane weights `conv_forward` returned.
    """
    dims = _dims(x, w, pool, group)
    out = _out_shape(dims)
    operands = {"g": g, "x": x, "w": w}
    if pool > 1:
        operands["idx"] = idx
    if activation is not None:
        operands["activated"] = activated
    if group > 1:
        operands["lanes"] = lanes
    lane_shape = (dims[0], w[0].numel() * dims[-1])
    _check({"g": out, "idx": out, "activated": out, "lanes": lane_shape}, **operands)
    act = FUSED_ACTIVATIONS.index(activation) + 1 if activation is not None else 0
    if input_grad and x.shape[0] != dims[0]:
        raise ValueError("no input gradient for an input shared by all models")
    lib = _library()
    lib.set_threads(torch.get_num_threads())
    dx = torch.empty_like(x) if input_grad else None
    dw, db = torch.empty_like(w), w.new_empty(w.shape[:2])
    failed = lib.conv_backward(
        _p(g),
        _p(activated),
        act,
        _p(idx),
        _p(x),
        _x_stride(x, dims[0]),
        _p(w),
        _p(lanes),
        _p(dx),
        _p(dw),
        _p(db),
        *dims,
        group,
    )
    if failed:
        raise MemoryError("the convolution kernels could not allocate a scratch buffer")
    return dx, dw, db
