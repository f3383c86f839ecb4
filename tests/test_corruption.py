"""Corrupt, truncated or inconsistent corpora are detected and named, and commands report them in one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from ssl_waveform.cli.corpus import main as corpus_main
from ssl_waveform.data import Corpus, CorpusWriter, ShardError


def _corpus(root: Path) -> Path:
    with CorpusWriter(root, sample_rate=1e3, channel_names=["a", "b"], class_names=["x", "y"]) as w:
        w.append(
            np.random.default_rng(0).normal(size=(300, 2, 256)).astype("float32"),
            labels=np.arange(300) % 2,
        )
    return root


def test_flipped_bytes_are_caught_by_the_chunk_checksums(tmp_path: Path, capsys) -> None:
    root = _corpus(tmp_path / "c")
    Corpus(root).verify()  # a sound corpus verifies
    assert corpus_main(["verify", str(root)]) == 0 and "ok (300 windows" in capsys.readouterr().out
    shard = root / "shard-000000.h5"
    data = bytearray(shard.read_bytes())
    middle = len(data) // 2  # inside the waveforms' data
    data[middle : middle + 16] = bytes(b ^ 0xFF for b in data[middle : middle + 16])
    shard.write_bytes(bytes(data))  # same size: only the checksums can tell
    with pytest.raises(ShardError, match=r"shard-000000\.h5: cannot read windows"):
        Corpus(root).read(np.arange(300))
    assert corpus_main(["info", str(root), "--verify"]) == 2
    assert "shard-000000.h5" in capsys.readouterr().err
    assert corpus_main(["verify", str(root)]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_truncated_shard_and_wrong_window_count_are_named_at_open(tmp_path: Path) -> None:
    root = _corpus(tmp_path / "c")
    bad = tmp_path / "t"
    shutil.copytree(root, bad)
    shard = bad / "shard-000000.h5"
    shard.write_bytes(shard.read_bytes()[:-1000])
    with pytest.raises(ShardError, match=r"bytes, the manifest says .*truncated or was replaced"):
        Corpus(bad)
    wrong = tmp_path / "w"
    shutil.copytree(root, wrong)
    m = json.loads((wrong / "manifest.json").read_text())
    m["num_windows"] = m["shards"][0]["num_windows"] = 400
    (wrong / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(
        ShardError,
        match=r"holds windows of shape \(300, 2, 256\), the manifest says \(400, 2, 256\)",
    ):
        Corpus(wrong).read([350])
