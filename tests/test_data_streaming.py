"""Streaming reader: exactly-once per epoch across ranks and workers, shuffling, bounded buffer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from ssl_waveform.data import CorpusError, CorpusWriter, StreamingWindowDataset

N = 203  # windows in the main test corpus: not a multiple of shard, block or batch sizes


def build(
    root: Path, n: int, shard_sizes: tuple[int, ...] = (50, 50, 50, 53), labeled: bool = True
) -> Path:
    """Corpus whose window i has x[i, :, 0] == i and label i % 3."""
    x = np.zeros((n, 2, 8), dtype=np.float32)
    x[:, :, 0] = np.arange(n)[:, None]
    w = CorpusWriter(
        root,
        sample_rate=100.0,
        channel_names=["a", "b"],
        class_names=["p", "q", "r"] if labeled else None,
    )
    start = 0
    for i, s in enumerate(shard_sizes):
        w.write_shard(
            i, x[start : start + s], labels=(np.arange(start, start + s) % 3) if labeled else None
        )
        start += s
    assert start == n
    w.finalize()
    return root


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("stream") / "c", N)


def epoch_indices(ds: StreamingWindowDataset) -> list[np.ndarray]:
    out = []
    for b in ds:
        x, idx = b["x"], b["index"]
        assert x.dtype == torch.float32 and x.shape[1:] == (2, 8)
        np.testing.assert_array_equal(x[:, 0, 0].long().numpy(), idx.numpy())  # data matches index
        np.testing.assert_array_equal(b["y"].numpy(), idx.numpy() % 3)
        out.append(idx.numpy())
    return out


@pytest.mark.parametrize("world_size", [1, 2, 3])
@pytest.mark.parametrize("drop_last", [False, True])
def test_every_window_once_per_epoch_across_ranks(
    corpus: Path, world_size: int, drop_last: bool
) -> None:
    kw = {
        "batch_size": 16,
        "block_windows": 8,
        "buffer_blocks": 3,
        "with_labels": True,
        "with_index": True,
    }
    per_rank = []
    for rank in range(world_size):
        ds = StreamingWindowDataset(
            corpus, rank=rank, world_size=world_size, drop_last=drop_last, **kw
        )
        ds.set_epoch(4)
        batches = epoch_indices(ds)
        assert len(batches) == len(ds)
        assert all(len(b) == 16 for b in batches[:-1])
        if drop_last:
            assert len(batches[-1]) == 16
        per_rank.append(np.concatenate(batches))
    assert len({len(ds) for _ in range(world_size)}) == 1
    seen = np.concatenate(per_rank)
    assert len(np.unique(seen)) == len(seen)  # never twice across ranks
    per = N // world_size
    expected = (per // 16) * 16 if drop_last else per
    assert all(len(r) == expected for r in per_rank)  # equal work on every rank


def test_full_coverage_and_reshuffle_across_epochs(corpus: Path) -> None:
    ds = StreamingWindowDataset(
        corpus, batch_size=32, block_windows=8, buffer_blocks=4, with_labels=True, with_index=True
    )
    orders = []
    for epoch in range(3):
        ds.set_epoch(epoch)
        order = np.concatenate(epoch_indices(ds))
        assert sorted(order.tolist()) == list(range(N))
        orders.append(order)
    assert not np.array_equal(orders[0], orders[1]) and not np.array_equal(orders[1], orders[2])
    again = StreamingWindowDataset(
        corpus, batch_size=32, block_windows=8, buffer_blocks=4, with_labels=True, with_index=True
    )
    again.set_epoch(1)
    np.testing.assert_array_equal(np.concatenate(epoch_indices(again)), orders[1])  # deterministic
    other_seed = StreamingWindowDataset(
        corpus, batch_size=32, seed=1, block_windows=8, with_labels=True, with_index=True
    )
    other_seed.set_epoch(1)
    assert not np.array_equal(np.concatenate(epoch_indices(other_seed)), orders[1])


def test_no_shuffle_is_corpus_order(corpus: Path) -> None:
    ds = StreamingWindowDataset(
        corpus, batch_size=50, shuffle=False, with_labels=True, with_index=True
    )
    np.testing.assert_array_equal(np.concatenate(epoch_indices(ds)), np.arange(N))


def test_buffer_is_bounded(tmp_path: Path) -> None:
    """Each buffer holds 12 consecutive stream windows: at most ceil(11 / 5) + 1 = 4 blocks of 5."""
    root = build(tmp_path / "c", 200, (50, 50, 50, 50))
    ds = StreamingWindowDataset(
        root, batch_size=4, block_windows=5, buffer_blocks=2, with_index=True
    )
    assert ds.buffer_windows == 12
    batches = [b["index"].numpy() for b in ds]
    assert sorted(np.concatenate(batches).tolist()) == list(range(200))
    for k in range(0, len(batches), 3):  # 3 batches of 4 = one buffer of 12
        window_ids = np.concatenate(batches[k : k + 3])
        assert len(window_ids) <= 12 and len(set((window_ids // 5).tolist())) <= 4


def test_dataloader_workers_split_without_overlap(corpus: Path) -> None:
    """One test with real worker processes (slow to spawn): 2 ranks x 2 workers cover the corpus once."""
    seen = []
    lengths = []
    for rank in range(2):
        ds = StreamingWindowDataset(
            corpus,
            batch_size=16,
            block_windows=8,
            buffer_blocks=2,
            rank=rank,
            world_size=2,
            with_index=True,
        )
        ds.set_epoch(2)
        single = sorted(tuple(sorted(b["index"].tolist())) for b in ds)
        loader = DataLoader(ds, batch_size=None, num_workers=2)
        batches = [b["index"] for b in loader]
        lengths.append(len(batches))
        assert len(batches) == len(ds) == len(loader)
        assert (
            sorted(tuple(sorted(b.tolist())) for b in batches) == single
        )  # same batches as 0 workers
        seen.append(torch.cat(batches))
    allseen = torch.cat(seen)
    assert len(allseen) == 2 * (N // 2) and len(allseen.unique()) == len(allseen)


def test_rank_from_environment(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    ds = StreamingWindowDataset(corpus, batch_size=10, with_index=True)
    assert len(ds) == 11  # ceil(101 / 10)
    monkeypatch.setenv("RANK", "2")
    with pytest.raises(CorpusError, match="rank 2"):
        len(ds)


def test_multiple_roots_and_compatibility(tmp_path: Path) -> None:
    a = build(tmp_path / "a", 20, (20,))
    b = build(tmp_path / "b", 30, (10, 20))
    ds = StreamingWindowDataset([a, b], batch_size=7, with_labels=True, with_index=True)
    idx = torch.cat([x["index"] for x in ds])
    assert sorted(idx.tolist()) == list(range(50))
    unlabeled = build(tmp_path / "u", 10, (10,), labeled=False)
    with pytest.raises(CorpusError, match="with_labels=True"):
        StreamingWindowDataset([a, unlabeled], with_labels=True)
    x = np.zeros((4, 3, 8), dtype=np.float32)
    w = CorpusWriter(tmp_path / "c3", sample_rate=100.0, channel_names=["a", "b", "c"])
    w.write_shard(0, x)
    w.finalize()
    with pytest.raises(CorpusError, match="channel_names"):
        StreamingWindowDataset([a, tmp_path / "c3"])
