"""Corpus reading throughput: shuffled streaming reader vs a naive map-style h5py reader.

Usage:
    python benchmarks/corpus_throughput.py [--windows 200000] [--dir DIR] [--workers 0]
        [--naive-batches 20] [--rss-windows 20000]

Writes a synthetic corpus of ``--windows`` windows of 3 x 2048 float32 (under a temporary folder
unless ``--dir``), then prints windows/s for (a) StreamingWindowDataset -> DataLoader(batch_size=None),
(b) a naive Dataset doing ``h5py_dataset[i]`` per index -> DataLoader(batch_size=256, shuffle=True),
(c) our WindowDataset (batched ``__getitems__``) with the same DataLoader, and the peak RSS of a
streaming epoch over a corpus of ``--rss-windows`` and 4x that many windows (fresh subprocesses).
"""

from __future__ import annotations

import bisect
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ssl_waveform.config import parse
from ssl_waveform.data import Corpus, CorpusWriter, StreamingWindowDataset, WindowDataset


def write_corpus(root: Path, n: int, c: int = 3, t: int = 2048, block: int = 4096) -> float:
    """Synthetic float32 corpus; returns seconds taken."""
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    with CorpusWriter(root, sample_rate=20e3, channel_names=[f"ch{i}" for i in range(c)]) as w:
        for s in range(0, n, block):
            w.append(rng.standard_normal((min(block, n - s), c, t), dtype=np.float32))
    return time.perf_counter() - start


class NaiveH5Dataset(Dataset):
    """What one writes first: open the shards lazily, read one index per ``__getitem__``."""

    def __init__(self, root: Path) -> None:
        corpus = Corpus(root)
        self.paths = corpus.shards
        self.offsets = corpus.offsets.tolist()
        self.files: dict[int, h5py.File] = {}

    def __len__(self) -> int:
        return self.offsets[-1]

    def __getitem__(self, i: int) -> torch.Tensor:
        s = bisect.bisect_right(self.offsets, i) - 1
        if s not in self.files:
            self.files[s] = h5py.File(self.paths[s], "r")
        return torch.from_numpy(self.files[s]["waveforms"][i - self.offsets[s]])


def rate(loader, max_batches: int | None) -> tuple[float, int]:
    """Windows per second over up to ``max_batches`` batches (first batch excluded as warm-up)."""
    it = iter(loader)
    first = next(it)
    n, start = 0, time.perf_counter()
    for k, b in enumerate(it):
        x = b["x"] if isinstance(b, dict) else (b[0] if isinstance(b, list) else b)
        n += x.shape[0]
        if max_batches is not None and k + 1 >= max_batches:
            break
    del first
    return n / (time.perf_counter() - start), n


def rss_child(root: str, workers: int) -> None:
    ds = StreamingWindowDataset(root, batch_size=256)
    total = sum(b["x"].shape[0] for b in DataLoader(ds, batch_size=None, num_workers=workers))
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {"windows": total, "peak_rss_mib": round(peak_kib / 1024, 1)}
    if workers:  # reaped DataLoader workers
        out["worker_peak_rss_mib"] = round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1
        )
    print(json.dumps(out))


@dataclass
class CorpusThroughputConfig:
    """Sizes of the synthetic corpora and how they are read.

    Attributes:
        windows: windows of 3 x 2048 float32 in the corpus read by (a), (b) and (c).
        dir: folder for the corpora, kept afterwards and reused when it already holds them (default: a
            temporary folder, deleted at the end).
        workers: DataLoader worker processes of every reader.
        naive_batches: batches timed for (b) and (c) (after one warm-up batch).
        rss_windows: windows of the smaller peak-RSS corpus; the larger one has 4x as many.
        rss_child: internal, used by the run itself: only print the peak RSS of one streaming epoch over this
            corpus as JSON.
    """

    windows: int = 200_000
    dir: Path | None = None
    workers: int = 0
    naive_batches: int = 20
    rss_windows: int = 20_000
    rss_child: str | None = None


def main(argv: list[str] | None = None) -> None:
    args = parse(
        CorpusThroughputConfig,
        argv,
        prog="python benchmarks/corpus_throughput.py",
        description=__doc__,
    )
    if args.rss_child:
        rss_child(args.rss_child, args.workers)
        return
    torch.set_num_threads(1)
    base = args.dir or Path(tempfile.mkdtemp(prefix="corpus_bench_"))
    try:
        root = base / "main"
        if not (root / "manifest.json").exists():
            secs = write_corpus(root, args.windows)
            print(
                f"write: {args.windows} windows in {secs:.1f} s = {args.windows / secs:,.0f} windows/s"
            )
        corpus = Corpus(root)
        print(f"corpus: {corpus}, {corpus.size_bytes / 2**30:.2f} GiB")
        ds = StreamingWindowDataset(root, batch_size=256)
        a, n = rate(DataLoader(ds, batch_size=None, num_workers=args.workers), None)
        print(
            f"(a) streaming, full epoch ({n} windows, workers={args.workers}): {a:,.0f} windows/s"
        )
        kw: dict[str, Any] = {"batch_size": 256, "shuffle": True, "num_workers": args.workers}
        b, n = rate(DataLoader(NaiveH5Dataset(root), **kw), args.naive_batches)
        print(
            f"(b) naive h5py map-style ({n} windows): {b:,.0f} windows/s  -> (a)/(b) = {a / b:.1f}x"
        )
        c, n = rate(DataLoader(WindowDataset(root), **kw), args.naive_batches)
        print(f"(c) WindowDataset (__getitems__) ({n} windows): {c:,.0f} windows/s")
        for mult in (1, 4):
            r = base / f"rss{mult}"
            if not (r / "manifest.json").exists():
                write_corpus(r, mult * args.rss_windows)
            out = subprocess.run(
                [sys.executable, __file__, "--rss-child", str(r), "--workers", str(args.workers)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            print(
                f"peak RSS, streaming epoch over {mult}x = {mult * args.rss_windows} windows: {out.strip()}"
            )
    finally:
        if args.dir is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
