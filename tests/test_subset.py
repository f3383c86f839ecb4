"""``write_subset``, ``split_corpus`` and ``python -m ssl_waveform.corpus subset``: a pretraining corpus that holds
every recording outside fine-tuning's test split, and nothing of it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ssl_waveform.cli.corpus import main
from ssl_waveform.data import Corpus, CorpusError, CorpusWriter, write_subset
from ssl_waveform.finetune import FinetuneConfig, split_corpus
from ssl_waveform.finetune.run import _prepare_data


def make(root: Path) -> Path:
    """3 classes x 5 recordings x 4 windows; window i holds the value i so copies can be traced."""
    n = 60
    x = np.arange(n, dtype=np.float32)[:, None, None] * np.ones((1, 2, 32), np.float32)
    with CorpusWriter(
        root,
        sample_rate=1000.0,
        channel_names=["ia", "ib"],
        class_names=["healthy", "sc_a", "sc_b"],
        windows_per_shard=16,
    ) as w:
        w.append(
            x,
            labels=(np.arange(n) // 20).astype(np.int64),
            meta={
                "source": np.array([f"rec{i // 4:02d}" for i in range(n)]),
                "offset": np.arange(n),
            },
        )
    return root


def test_write_subset_copies_windows_labels_and_meta(tmp_path: Path) -> None:
    src = Corpus(make(tmp_path / "src"))
    idx = np.array([41, 3, 17, 3, 59])
    out = Corpus(write_subset(src, tmp_path / "sub", idx, windows_per_shard=2))
    keep = np.unique(idx)
    assert out.num_windows == 4 and len(out.shards) == 2
    np.testing.assert_array_equal(out.read(np.arange(4)), src.read(keep))
    np.testing.assert_array_equal(out.labels(), src.labels()[keep])
    assert out.class_names == src.class_names and out.meta_fields == src.meta_fields
    np.testing.assert_array_equal(out.meta("source"), src.meta("source")[keep])
    assert out.sample_rate == 1000.0 and out.channel_names == ["ia", "ib"]


def test_write_subset_unlabeled_and_errors(tmp_path: Path) -> None:
    src = make(tmp_path / "src")
    out = Corpus(write_subset(src, tmp_path / "u", [0, 1], labeled=False))
    assert out.class_names is None
    with pytest.raises(CorpusError, match="already exists"):
        write_subset(src, tmp_path / "u", [0])
    with pytest.raises(CorpusError, match="index 60 outside"):
        write_subset(src, tmp_path / "bad", [0, 60])
    with pytest.raises(CorpusError, match="no window"):
        write_subset(src, tmp_path / "empty", [])
    assert not (tmp_path / "bad").exists() and not (tmp_path / "empty").exists()
    assert not list(tmp_path.glob(".*.tmp"))


def test_split_corpus_is_finetunes_split(tmp_path: Path) -> None:
    corpus = Corpus(make(tmp_path / "src"))
    cfg = FinetuneConfig(data=str(corpus.root), val_fraction=0.2, test_fraction=0.2, split_seed=3)
    splits, _, _ = _prepare_data(cfg, corpus)
    same = split_corpus(corpus, val_fraction=0.2, test_fraction=0.2, seed=3)
    for part in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(splits, part), getattr(same, part))
    source = corpus.meta("source")
    assert not set(source[same.test]) & set(source[same.train])  # by recording
    assert split_corpus(corpus, split_by="none", seed=3).test.size > 0


def test_cli_subset_leaves_out_the_test_recordings(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    src = make(tmp_path / "src")
    args = ["subset", str(src), "--out", str(tmp_path / "pre"), "--unlabeled"]
    assert main([*args, "--test-fraction", "0.2", "--val-fraction", "0.2"]) == 0
    assert "unlabeled" in capsys.readouterr().out
    pre = Corpus(tmp_path / "pre")
    test = split_corpus(Corpus(src), val_fraction=0.2, test_fraction=0.2).test
    assert pre.class_names is None and pre.num_windows == 60 - test.size
    held_out = set(Corpus(src).meta("source")[test])
    assert held_out and not held_out & set(pre.meta("source"))
    assert main(args) == 2  # exists: refused, named
    assert "already exists" in capsys.readouterr().err


def test_cli_subset_of_unlabeled_corpus_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    src = make(tmp_path / "src")
    write_subset(src, tmp_path / "u", [0, 1, 2], labeled=False)
    assert main(["subset", str(tmp_path / "u"), "--out", str(tmp_path / "x")]) == 2
    assert "unlabeled" in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_relabel_replaces_classes_and_refuses_a_selected_window_without_a_label(tmp_path) -> None:
    import numpy as np
    import pytest

    from ssl_waveform.data import Corpus, CorpusError, CorpusWriter, write_subset

    src_root = tmp_path / "src"
    w = CorpusWriter(src_root, sample_rate=1000.0, channel_names=["a"], units=["A"])
    w.write_shard(0, np.arange(12, dtype=np.float32).reshape(4, 1, 3), None, {"k": np.arange(4)})
    w.finalize()
    labels = np.array([1, -1, 0, 1])
    out = write_subset(src_root, tmp_path / "out", [0, 2, 3], relabel=(["x", "y"], labels))
    part = Corpus(out)
    assert list(part.class_names) == ["x", "y"]
    np.testing.assert_array_equal(part.labels(), [1, 0, 1])
    np.testing.assert_array_equal(part.meta("k"), [0, 2, 3])
    with pytest.raises(CorpusError, match="window 1 the label -1"):
        write_subset(src_root, tmp_path / "bad", [0, 1], relabel=(["x", "y"], labels))
    assert not (tmp_path / "bad").exists()
