"""Entry point: parse arguments, dispatch, and turn expected errors into one line."""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Sequence

from hyperrep._errors import HyperrepError
from hyperrep.cli import (
    _doctor,
    _evaluate,
    _predict,
    _represent,
    _reproduce,
    _sample,
    _symmetry,
    _zoo,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hyperrep",
        description="Learning on neural network weights: model zoos and their representations.",
    )
    from hyperrep._version import __version__

    parser.add_argument("--version", action="version", version=f"hyperrep {__version__}")
    parser.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="CPU threads to compute with (default: every core; on a "
        "shared machine, the cores that are free)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _zoo.add_parser(commands)
    _symmetry.add_parser(commands)
    _represent.add_parsers(commands)
    _evaluate.add_parser(commands)
    _predict.add_parser(commands)
    _sample.add_parsers(commands)
    _reproduce.add_parsers(commands)
    _doctor.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.threads is not None:
            _set_threads(args.threads)
        return int(args.run(args) or 0)
    except HyperrepError as err:
        print(f"hyperrep: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hyperrep: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except Exception as err:
        line = os_error_line(err)
        if line is None:
            raise
        print(f"hyperrep: error: {line}", file=sys.stderr)
        return 2


# what the operating system refused, and what the user can do about it; everything a
# command writes is committed atomically, so what was finished before stays usable
_OS_ERRORS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "the file system is read-only",
    errno.ENOENT: "no such file or folder (was it moved or deleted while the command ran?)",
}
_RESUME = "what was finished is kept; fix this and run the same command again to resume"


def os_error_line(err: BaseException) -> str | None:
    """One line for an error the operating system raised (also when a library wrapped
    it, as safetensors does with a full disk); None for any other error."""
    if isinstance(err, OSError) and err.errno in _OS_ERRORS:
        where = f": {err.filename}" if err.filename else ""
        return f"{_OS_ERRORS[err.errno]}{where}; {_RESUME}"
    text = str(err)
    for code, what in _OS_ERRORS.items():
        if os.strerror(code) in text:  # e.g. SafetensorError("... No space left on device")
            return f"{what} ({type(err).__name__}: {text.splitlines()[0][:120]}); {_RESUME}"
    return None


def _set_threads(n: int) -> None:
    if n < 1:
        raise HyperrepError(f"--threads must be >= 1, got {n}")
    import torch

    torch.set_num_threads(n)  # the C kernels follow torch's thread count


if __name__ == "__main__":
    sys.exit(main())
