"""Same-recording positives (``SourcePairDataset``, ``SimCLRConfig.positives=source``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ssl_waveform.data import Corpus, CorpusError, CorpusWriter, SourcePairDataset
from ssl_waveform.pretrain import SimCLRConfig, pretrain_simclr


def _corpus(root: Path, recordings: int, per_recording: int, window: int = 256) -> Path:
    """Each window's first sample is its recording number, its second the window's index."""
    n = recordings * per_recording
    x = np.random.default_rng(0).normal(size=(n, 3, window)).astype(np.float32)
    rec = np.repeat(np.arange(recordings), per_recording)
    x[:, 0, 0], x[:, 0, 1] = rec, np.arange(n)
    writer = CorpusWriter(
        root, sample_rate=1000.0, channel_names=["ia", "ib", "ic"], units=["A"] * 3
    )
    writer.write_shard(0, x, meta={"source": np.array([f"rec{r:02d}.csv" for r in rec])})
    writer.finalize()
    return root


def test_pairs_come_from_one_recording_and_rows_from_different_ones(tmp_path: Path) -> None:
    ds = SourcePairDataset(_corpus(tmp_path / "c", 12, 5), batch_size=8, seed=3)
    assert len(ds) == 60 // 8
    batches = list(ds)
    assert len(batches) == len(ds)
    for b in batches:
        rec, rec_pos = b["x"][:, 0, 0], b["x_pos"][:, 0, 0]
        assert torch.equal(rec, rec_pos)  # positives share the recording
        assert len(set(rec.tolist())) == 8  # 8 different recordings: the negatives
        assert not torch.equal(b["x"][:, 0, 1], b["x_pos"][:, 0, 1])  # ... as different windows
    ds.set_epoch(1)
    other = list(ds)
    assert not torch.equal(batches[0]["x"], other[0]["x"])  # a new draw each epoch
    ds.set_epoch(0)
    assert all(torch.equal(a["x"], b["x"]) for a, b in zip(batches, ds))  # and the same on a rerun


def test_ranks_share_the_epoch_without_overlap(tmp_path: Path) -> None:
    root = _corpus(tmp_path / "c", 6, 10)
    full = [b["x"] for b in SourcePairDataset(root, batch_size=4, seed=1)]
    ranks = [list(SourcePairDataset(root, 4, seed=1, rank=r, world_size=2)) for r in (0, 1)]
    assert [len(r) for r in ranks] == [8, 7]
    assert all(torch.equal(b["x"], full[2 * i]) for i, b in enumerate(ranks[0]))
    assert all(torch.equal(b["x"], full[2 * i + 1]) for i, b in enumerate(ranks[1]))


def test_data_loader_workers_share_the_epoch_without_repeats(tmp_path: Path) -> None:
    from torch.utils.data import DataLoader

    ds = SourcePairDataset(_corpus(tmp_path / "c", 6, 10), batch_size=4, seed=2)
    alone = [b["x"][:, 0, 1] for b in ds]
    loaded = [b["x"][:, 0, 1] for b in DataLoader(ds, batch_size=None, num_workers=2)]
    assert len(loaded) == len(ds) == len(alone)
    assert sorted(tuple(t.tolist()) for t in loaded) == sorted(tuple(t.tolist()) for t in alone)


def test_fewer_recordings_than_the_batch_repeat_and_one_recording_is_refused(
    tmp_path: Path,
) -> None:
    b = next(iter(SourcePairDataset(_corpus(tmp_path / "a", 3, 4), batch_size=8)))
    assert sorted(set(b["x"][:, 0, 0].tolist())) == [0.0, 1.0, 2.0]
    with pytest.raises(CorpusError, match="at least two"):
        SourcePairDataset(_corpus(tmp_path / "b", 1, 8), batch_size=4)
    with pytest.raises(CorpusError, match="unknown meta field 'machine'"):
        SourcePairDataset(Corpus(tmp_path / "a"), batch_size=4, field="machine")


def test_simclr_pretrains_on_same_recording_positives(tmp_path: Path) -> None:
    cfg = SimCLRConfig(
        data=str(_corpus(tmp_path / "c", 8, 4)), run_dir=str(tmp_path / "run"), positives="source"
    )
    cfg.encoder.name, cfg.encoder.representation = "convnext1d_atto", "raw"
    cfg.engine.epochs, cfg.engine.batch_size = 1, 8
    result = pretrain_simclr(cfg)
    assert result.steps == 4 and np.isfinite(result.loss)
    assert (tmp_path / "run" / "encoder" / "model.safetensors").is_file()
