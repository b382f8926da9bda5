"""The installed version, in its own module so that subpackages can read it without
importing the package's public API (no import cycle)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hyperrep")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+unknown"
