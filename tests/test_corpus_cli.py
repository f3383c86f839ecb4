"""``python -m ssl_waveform.corpus`` info and plot, and its argument errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ssl_waveform.cli.corpus import main
from ssl_waveform.data import CorpusWriter

REPO = Path(__file__).resolve().parents[1]


def make(root: Path, labeled: bool) -> Path:
    rng = np.random.default_rng(0)
    with CorpusWriter(
        root,
        sample_rate=2000.0,
        channel_names=["ia", "ib", "ic"],
        class_names=["healthy", "open_s1"] if labeled else None,
        windows_per_shard=16,
    ) as w:
        w.append(
            rng.normal(size=(40, 3, 64)) + np.array([1.0, 0.0, -1.0])[None, :, None],
            labels=(np.arange(40) % 2) if labeled else None,
        )
    return root


def test_info_text_and_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = make(tmp_path / "c", labeled=True)
    assert main(["info", str(root)]) == 0
    text = capsys.readouterr().out
    assert (
        "40 in 3 shard(s)" in text
        and "2000 Hz" in text
        and "healthy" in text
        and "ia: mean" in text
    )
    assert main(["info", str(root), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["windows"] == 40 and d["class_counts"] == {"healthy": 20, "open_s1": 20}
    assert (
        np.allclose(d["stats"]["mean"], [1.0, 0.0, -1.0], atol=0.1)
        and d["size_bytes"] > 40 * 3 * 64 * 4
    )


@pytest.mark.parametrize("labeled", [True, False])
def test_plot_writes_png(tmp_path: Path, labeled: bool, capsys: pytest.CaptureFixture) -> None:
    root = make(tmp_path / "c", labeled)
    out = tmp_path / "fig" / "grid.png"
    assert main(["plot", str(root), "--n", "3", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5000


def test_argument_errors_exit_2_with_message(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = make(tmp_path / "c", labeled=True)
    subset = ["subset", str(root), "--out", str(tmp_path / "s")]
    for argv, needle in [
        (["plot", str(root), "--n", "0", "--out", str(tmp_path / "g.png")], "--n must be >= 1"),
        ([*subset, "--parts", "train", "holdout"], "holdout"),
        ([*subset, "--parts"], "--parts"),
        (["summary", str(root)], "summary"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2 and needle in capsys.readouterr().err
    assert not (tmp_path / "g.png").exists() and not (tmp_path / "s").exists()
    assert main(["info", "--json", str(root)]) == 0  # options before or after DIR, as with argparse
    assert json.loads(capsys.readouterr().out)["windows"] == 40


def test_errors_exit_2_with_message(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ssl_waveform.corpus", "info", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode == 2 and "manifest not found" in proc.stderr
