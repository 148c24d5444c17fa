"""Errors that reach the user as one clear line and CLI exit status 2.

Every error raised because of bad *input* (a chip file, a network, a model
file, a dataset name, a token) derives from :class:`NmsimError`.  The CLI
prints ``nmsim: error: <message>`` and exits with status 2; it never shows a
traceback for these.  Bugs (anything else) still raise normally.
"""


class NmsimError(Exception):
    """Base class for user-facing input errors (CLI exit status 2)."""


class ChipConfigError(NmsimError):
    """A chip description is malformed (unknown key, wrong type, bad value)."""


class NetworkError(NmsimError):
    """A network description is malformed or inconsistent."""


class MappingError(NmsimError):
    """A network does not fit the chip (neurons, synapse memory, fan-in)."""


class ModelFileError(NmsimError):
    """An exported model file is truncated, corrupted or of an unknown version."""


class DatasetError(NmsimError):
    """Unknown dataset, bad split, failed checksum or out-of-vocabulary token."""


class SweepError(NmsimError):
    """A sweep specification is malformed or a scheduler cannot be reached."""
