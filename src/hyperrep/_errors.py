"""Exceptions that the command-line tool reports as one line, without a traceback."""


class HyperrepError(Exception):
    """A problem with the user's input or environment, explained in one line."""


class UnknownNameError(HyperrepError, ValueError):
    """A name that no registry knows."""


class DataFormatError(HyperrepError, ValueError):
    """A data file or data set that is malformed or inconsistent."""
