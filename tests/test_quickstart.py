"""The quickstart end to end at toy size: MAE vs scratch over seeds, mean ± sd, paired gain."""

from __future__ import annotations

import json
from pathlib import Path

from ssl_waveform.cli.quickstart import main


def test_quickstart_reports_mean_and_sd_over_seeds(tmp_path: Path, capsys) -> None:
    argv = ["--runs", str(tmp_path), "--unlabeled-windows", "128", "--labeled-windows", "176",
            "--labels-per-class", "1", "--pretrain-epochs", "1", "--finetune-epochs", "1",
            "--seeds", "0", "1", "--encoder", "test_convnext"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    runs = json.loads((tmp_path / "quickstart" / "summary.json").read_text())
    assert set(runs) == {"MAE-pretrained", "scratch"}
    for name, metrics in runs.items():
        assert len(metrics) == 2, "one fine-tuning run per seed"
        assert all(0.0 <= m["accuracy"] <= 1.0 for m in metrics)
        assert all(m["num_train_windows"] == 22 for m in metrics)
        assert f"| {name} | " in printed
    subsets = [m["config"]["subset_seed"] for m in runs["scratch"]]
    assert subsets == [0, 1], "each seed draws its own labeled subset"
    assert "MAE - scratch, paired by seed:" in printed and "±" in printed
    assert (tmp_path / "quickstart" / "summary.md").read_text() in printed
    # the MAE encoder kept the default normalisation
    enc = json.loads(
        (tmp_path / "quickstart" / "pretrain_mae" / "encoder" / "config.json").read_text()
    )
    assert enc["normalization"]["mode"] == "shared_scale"
