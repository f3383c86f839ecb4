"""Exception hierarchy of the corpus layer.

Every error raised for bad data derives from :class:`CorpusError` (itself a ``ValueError``), names the
file and the index or field at fault, and says what to do. Catch ``CorpusError`` to handle all of them.
"""

from __future__ import annotations


class CorpusError(ValueError):
    """Base class of all data-layer errors (bad input, bad corpus, bad arguments about the data)."""


class ManifestError(CorpusError):
    """The corpus manifest is missing, unreadable, of an unknown format version or inconsistent."""


class ShardError(CorpusError):
    """A shard file is unreadable, truncated, or does not match the corpus it belongs to."""


class InputFileError(CorpusError):
    """An ingest input file cannot be read (unknown extension, corrupt or truncated file, no array)."""


class NonFiniteError(CorpusError):
    """An array holds NaN or Inf values."""


class ChannelCountError(CorpusError):
    """An array has a different number of channels than the corpus."""


class WindowShapeError(CorpusError):
    """A block of windows has the wrong rank, window length, or per-window field length."""


class SampleRateMismatchError(CorpusError):
    """Recordings (or corpora) with different sample rates were mixed without resampling."""


class RecordingTooShortError(CorpusError):
    """A recording is shorter than one window."""


class UnknownLabelError(CorpusError):
    """A label is outside the class list (a folder name not in ``classes``, an integer out of range)."""
