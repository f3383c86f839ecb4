"""The quickstart end to end at toy size: pretrained vs scratch over seeds, mean ± sd, paired gain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ssl_waveform.cli.quickstart import main

TOY = ["--labeled-windows", "176", "--labels-per-class", "1", "--finetune-epochs", "1",
       "--seeds", "0", "1"]  # fmt: skip


def _check_runs(tmp_path: Path, printed: str, names: set[str]) -> dict:
    runs = json.loads((tmp_path / "quickstart" / "summary.json").read_text())
    assert set(runs) == names
    for name, metrics in runs.items():
        assert len(metrics) == 2, "one fine-tuning run per seed"
        assert all(0.0 <= m["accuracy"] <= 1.0 for m in metrics)
        assert all(m["num_train_windows"] == 22 for m in metrics)
        assert f"| {name} | " in printed
    subsets = [m["config"]["subset_seed"] for m in runs["scratch"]]
    assert subsets == [0, 1], "each seed draws its own labeled subset"
    assert "pretrained - scratch, paired by seed:" in printed and "±" in printed
    assert (tmp_path / "quickstart" / "summary.md").read_text() in printed
    return runs


def test_quickstart_fine_tunes_the_shipped_encoder_without_pretraining(
    tmp_path: Path, capsys
) -> None:
    assert main(["--runs", str(tmp_path), *TOY]) == 0
    printed = capsys.readouterr().out
    runs = _check_runs(tmp_path, printed, {"convnext_atto_fold_simclr", "scratch"})
    assert "no pretraining in this run" in printed
    assert not (tmp_path / "data" / "unlabeled").exists(), "no unlabeled corpus is simulated"
    shipped = runs["convnext_atto_fold_simclr"][0]["init"]
    assert shipped == "convnext_atto_fold_simclr", shipped  # the shipped encoder, by name


@pytest.mark.parametrize("method", ["mae", "simclr"])
def test_quickstart_pretrains_its_own_encoder_one_flag_away(
    tmp_path: Path, capsys, method: str
) -> None:
    argv = ["--runs", str(tmp_path), *TOY, "--pretrain", method, "--unlabeled-windows", "128",
            "--pretrain-epochs", "1", "--encoder", "test_convnext"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    _check_runs(tmp_path, printed, {f"{method}_pretrained", "scratch"})
    assert f"{method} pretraining:" in printed
    enc = json.loads(
        (tmp_path / "quickstart" / f"pretrain_{method}" / "encoder" / "config.json").read_text()
    )
    assert enc["normalization"]["mode"] == "shared_scale"
    assert enc["provenance"]["method"] == method


def test_quickstart_refuses_scratch_as_the_pretrained_side(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as err:
        main(["--runs", str(tmp_path), "--init", "scratch"])
    assert err.value.code == 2
    assert "compares a pretrained encoder with scratch" in capsys.readouterr().err
