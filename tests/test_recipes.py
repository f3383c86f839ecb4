"""The pretraining recipes end to end on a tiny corpus: run folder, exported encoder, command line."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from safetensors.torch import load_file
from test_classify import CHANNELS, FS, WINDOW, tones

from ssl_waveform import load_encoder
from ssl_waveform.data import CorpusWriter
from ssl_waveform.engine import latest_checkpoint, read_trainer_state
from ssl_waveform.pretrain import MAEConfig, SimCLRConfig

REPO = Path(__file__).resolve().parents[1]
RECIPES = {"mae": MAEConfig, "simclr": SimCLRConfig}
# test_convnext reduces 32x: the MAE needs a 2x2 grid to hide some cells and keep some visible
IMAGE_SIZE = {"mae": 64, "simclr": 32}


def _recipe(name: str):
    path = REPO / "recipes" / f"pretrain_{name}.py"
    spec = importlib.util.spec_from_file_location(f"recipe_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("recipes") / "unlabeled"
    with CorpusWriter(root, sample_rate=FS, channel_names=CHANNELS, windows_per_shard=16) as w:
        w.append(tones(np.arange(32) % 3, WINDOW, seed=21))
    return root


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_runs_end_to_end_and_exports_a_loadable_encoder(name, corpus, tmp_path):
    run = tmp_path / "run"
    cmd = [
        sys.executable, str(REPO / "recipes" / f"pretrain_{name}.py"),
        "--data", str(corpus), "--run-dir", str(run), "--encoder.name", "test_convnext",
        "--encoder.image-size", str(IMAGE_SIZE[name]), "--epochs", "2", "--batch-size", "8",
    ]  # fmt: skip
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # 32 windows / batch 8 = 4 steps per epoch
    assert "done: 8 steps (last epoch loss" in done.stdout
    assert f"encoder in {run}/encoder" in done.stdout

    log = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [4, 8]
    assert all(math.isfinite(r["loss"]) for r in log)
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["data"] == str(corpus) and saved["encoder"]["name"] == "test_convnext"
    assert saved["engine"]["batch_size"] == 8
    assert read_trainer_state(latest_checkpoint(run)).step == 8

    encoder = load_encoder(run / "encoder")
    assert encoder.config.provenance["method"] == name
    assert encoder.config.architecture.name == "test_convnext"
    assert encoder.config.sample_rate == FS and encoder.config.window == WINDOW
    assert encoder.config.channel_names == CHANNELS
    x = tones([0, 1, 2, 0, 1], WINDOW, seed=3)
    emb = encoder.embed(x, FS)
    assert emb.shape == (5, encoder.num_features) and np.isfinite(emb).all()
    assert not np.allclose(emb[0], emb[1])
    # the exported weights are the trained ones of the final checkpoint
    trained = load_file(latest_checkpoint(run) / "model.safetensors")
    backbone = {
        k[len("encoder.backbone.") :]: v
        for k, v in trained.items()
        if k.startswith("encoder.backbone.")
    }
    assert backbone, f"no encoder.backbone.* weights in the checkpoint: {sorted(trained)[:5]}"
    for key, value in encoder.backbone.state_dict().items():
        torch.testing.assert_close(value, backbone[key], msg=key)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_help_lists_every_config_key_with_its_default(name, capsys):
    with pytest.raises(SystemExit) as exc:
        _recipe(name).main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    flat = " ".join(out.replace("│", " ").split())  # the help's boxes as one line of words
    for key in (
        "data",
        "run_dir",
        "encoder.name",
        "encoder.image_size",
        "engine.epochs",
        "engine.base_lr",
    ):
        assert f"--{key.replace('_', '-')} " in flat, key
    assert "--engine.batch-size INT" in flat and "(default: 64)" in flat
    assert ("--mask-ratio FLOAT" in flat) == (name == "mae")
    assert ("--temperature FLOAT" in flat) == (name == "simclr")
    assert "--engine.mixed-precision {no,bf16,fp16}" in flat  # Literal choices are listed


@pytest.mark.parametrize("name", sorted(RECIPES))
@pytest.mark.parametrize(
    ("arg", "message"),
    [
        (["--engine.epocs", "3"], "--engine.epocs"),
        (["--engine.epochs", "three"], "--engine.epochs"),
        (["--encoder.image-size"], "--encoder.image-size"),
        (["--engine.epochs", "0"], "error: EngineConfig: epochs=0 must be >= 1"),
    ],
)
def test_bad_flag_exits_2_naming_it(name, arg, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        _recipe(name).main(["--run-dir", str(tmp_path / "run"), *arg])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert not (tmp_path / "run").exists()


def test_missing_config_file_exits_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        _recipe("mae").main(["--config", str(tmp_path / "nope.yaml")])
    assert exc.value.code == 2
    assert "nope.yaml" in capsys.readouterr().err


def test_continuing_an_encoder_keeps_its_normalisation(corpus, tmp_path):
    from ssl_waveform.data import Corpus
    from ssl_waveform.models import create_encoder
    from ssl_waveform.pretrain import EncoderSpec, build_encoder

    folder = create_encoder(
        "test_convnext", "stft", len(CHANNELS), window=WINDOW, sample_rate=FS,
        normalization="per_sample",
    ).save(tmp_path / "old")  # fmt: skip
    spec = EncoderSpec(name="test_convnext", representation="stft", init=str(folder))
    with pytest.raises(ValueError, match=r"set encoder\.normalization=per_sample to continue it"):
        build_encoder(spec, Corpus(corpus))
    spec.normalization = "per_sample"
    assert build_encoder(spec, Corpus(corpus)).transform.normalization.mode == "per_sample"


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_same_seed_gives_the_same_weights_and_a_resume_too(name, corpus, tmp_path):
    """Two uninterrupted runs with one seed agree exactly, and so does a run resumed from mid-way."""
    from accelerate.state import AcceleratorState

    from ssl_waveform.pretrain import pretrain_mae, pretrain_simclr

    def run(folder: str) -> dict[str, torch.Tensor]:
        AcceleratorState._reset_state(reset_partial_state=True)
        cfg = RECIPES[name](data=str(corpus), run_dir=str(tmp_path / folder))
        cfg.encoder.name, cfg.encoder.image_size = "test_convnext", IMAGE_SIZE[name]
        cfg.engine.epochs, cfg.engine.batch_size, cfg.engine.keep_checkpoints = 2, 8, 5
        (pretrain_mae if name == "mae" else pretrain_simclr)(cfg)
        AcceleratorState._reset_state(reset_partial_state=True)
        return load_file(latest_checkpoint(tmp_path / folder) / "model.safetensors")

    a, b = run("a"), run("b")
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)
    # interrupted after the first epoch: drop the later checkpoints and the log, run the same command again
    for ckpt in (tmp_path / "b" / "checkpoints").iterdir():
        if read_trainer_state(ckpt).step > 4:
            shutil.rmtree(ckpt)
    (tmp_path / "b" / "log.jsonl").unlink()
    c = run("b")
    for key in a:
        torch.testing.assert_close(a[key], c[key], rtol=0, atol=0, msg=f"resumed {key}")
