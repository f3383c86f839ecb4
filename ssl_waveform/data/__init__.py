"""ssl_waveform.data: the waveform corpus (HDF5 shards + JSON manifest), its writer and readers,
windowing, resampling, normalisation statistics and ingest of recordings.

See ``docs/corpus_format.md`` for the on-disk format and ``docs/ingest.md`` for ingest.
"""

from .corpus import Corpus
from .errors import (
    ChannelCountError,
    CorpusError,
    InputFileError,
    ManifestError,
    NonFiniteError,
    RecordingTooShortError,
    SampleRateMismatchError,
    ShardError,
    UnknownLabelError,
    WindowShapeError,
)
from .format import FORMAT_VERSION
from .ingest import IngestReport, WindowArray, ingest, load_input, load_recording
from .mapstyle import WindowDataset
from .pairs import SourcePairDataset
from .signal import resample, window_signal
from .stats import compute_channel_stats
from .streaming import StreamingWindowDataset
from .subset import write_subset
from .writer import CorpusWriter

__all__ = [
    "FORMAT_VERSION",
    "ChannelCountError",
    "Corpus",
    "CorpusError",
    "CorpusWriter",
    "IngestReport",
    "InputFileError",
    "ManifestError",
    "NonFiniteError",
    "RecordingTooShortError",
    "SampleRateMismatchError",
    "ShardError",
    "SourcePairDataset",
    "StreamingWindowDataset",
    "UnknownLabelError",
    "WindowArray",
    "WindowDataset",
    "WindowShapeError",
    "compute_channel_stats",
    "ingest",
    "load_input",
    "load_recording",
    "resample",
    "window_signal",
    "write_subset",
]
