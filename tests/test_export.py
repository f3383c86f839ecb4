"""ONNX export of a classifier folder: the graph holds normalisation, representation, backbone and head."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ssl_waveform.cli.export import ExportArgs, main
from ssl_waveform.config import parse
from ssl_waveform.export import OPSET, check_windows, export_onnx, onnx_logits
from ssl_waveform.methods.classify import Classifier
from ssl_waveform.models import create_encoder

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")


@pytest.fixture(scope="module")
def classifier_dir(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    encoder = create_encoder(
        "test_convnext", "fold", 3, window=1024, channel_names=["ia", "ib", "ic"]
    )
    model = Classifier(encoder, ["healthy", "open:Sa+", "open:Sb-"], head_init_scale=1.0)
    return model.save(tmp_path_factory.mktemp("clf") / "classifier")


def test_cli_exports_a_graph_that_matches_pytorch(
    classifier_dir: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "model.onnx"
    assert main(["--checkpoint", str(classifier_dir), "--out", str(out)]) == 0
    assert "max |logit difference|" in capsys.readouterr().out
    meta = json.loads((tmp_path / "model.onnx.json").read_text())
    assert meta["input"]["shape"] == ["N", 3, 1024] and meta["class_names"][1] == "open:Sa+"
    assert meta["onnxruntime_max_abs_diff"] <= 1e-4
    from ssl_waveform.methods.classify import load_classifier

    model = load_classifier(classifier_dir).eval()
    for batch in (
        1,
        5,
    ):  # the batch is dynamic; sinusoids exercise the fold's period and phase estimate
        x = check_windows(model, batch=batch, seed=batch)
        with torch.no_grad():
            expected = model.logits(x).numpy()
        got = onnx_logits(out, x.numpy())
        assert got.shape == (batch, 3)
        assert np.abs(got - expected).max() <= 1e-4


def test_failed_parity_check_writes_nothing(classifier_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"differ from PyTorch .* not written"):
        export_onnx(classifier_dir, tmp_path / "m.onnx", tolerance=-1.0)
    assert list(tmp_path.iterdir()) == []


def test_missing_checkpoint_is_a_clear_error(tmp_path: Path, capsys) -> None:
    assert main(["--checkpoint", str(tmp_path / "nope"), "--out", str(tmp_path / "m.onnx")]) == 2
    assert "nope" in capsys.readouterr().err


def test_command_line_flags() -> None:
    base = ["--checkpoint", "clf", "--out", "m.onnx"]
    assert parse(ExportArgs, base) == ExportArgs(Path("clf"), Path("m.onnx"), OPSET, True, 1e-4)
    flags = parse(ExportArgs, [*base, "--opset", "17", "--no-check", "--tolerance", "1e-3"])
    assert flags == ExportArgs(Path("clf"), Path("m.onnx"), 17, False, 1e-3)


def test_missing_out_exits_2_naming_it(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--checkpoint", "clf"])
    assert exit_info.value.code == 2 and "--out" in capsys.readouterr().err
