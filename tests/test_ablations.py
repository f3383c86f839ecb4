"""The ablations (``ssl-waveform ablation NAME``): registry, command line, configs, and one tiny real run."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import get_args

import numpy as np
import pytest
from accelerate.state import AcceleratorState
from test_classify import CHANNELS, CLASSES, FS, WINDOW, tones

from ssl_waveform.benchmark.ablations import (
    ABLATIONS,
    get_ablation,
    itsc,
    list_ablations,
    shift,
    ssl,
)
from ssl_waveform.benchmark.ablations.detection_window import DetectionWindowAblationConfig, run
from ssl_waveform.cli.ablation import main
from ssl_waveform.config import parse
from ssl_waveform.data import Corpus, CorpusWriter
from ssl_waveform.methods.classify import load_classifier
from ssl_waveform.models import create_encoder

NAMES = ["shift", "ssl", "itsc", "ceiling", "imagenet_input", "detection_window"]


@pytest.fixture(autouse=True)
def _fresh_accelerate_state():
    """accelerate keeps process-wide singletons; each in-process run starts from a clean one."""
    AcceleratorState._reset_state(reset_partial_state=True)
    yield
    AcceleratorState._reset_state(reset_partial_state=True)


def test_registry_holds_every_ablation_and_refuses_unknown_names_listing_them() -> None:
    assert list_ablations() == NAMES
    for name in NAMES:
        assert get_ablation(name).name == name and get_ablation(name).help
    with pytest.raises(KeyError, match="unknown ablation 'nope'; ablations: shift, ssl, itsc"):
        get_ablation("nope")
    with pytest.raises(KeyError, match="detection_window"):
        ABLATIONS["nope"]


@pytest.mark.parametrize("module", [shift, ssl, itsc])
def test_variant_literals_match_their_registries(module) -> None:
    assert get_args(module.VariantName) == tuple(module.VARIANTS)


@pytest.mark.parametrize("name", NAMES)
def test_help_of_every_ablation_exits_0(name: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([name, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert f"usage: ssl-waveform ablation {name}" in out
    assert "--out" in out or "--bench" in out


@pytest.mark.parametrize("name", NAMES)
def test_every_config_parses_its_defaults(name: str) -> None:
    cls = ABLATIONS[name].config
    assert parse(cls, [], prog=f"ssl-waveform ablation {name}") == cls()


def test_list_and_unknown_name(capsys) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(f"  {name} " in out for name in NAMES)
    assert main([]) == 2
    assert main(["nope", "--seeds", "0"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert lines == [f"error: unknown ablation 'nope'; ablations: {', '.join(NAMES)}"]


def test_flags_are_typed_and_checked(capsys) -> None:
    cfg = parse(get_ablation("ceiling").config, ["--variants", "raw:per_sample:3", "--seed", "2"])
    assert [(v.representation, v.normalization, v.epochs) for v in cfg.parsed_variants()] == [
        ("raw", "per_sample", 3)
    ]
    assert cfg.parsed_variants()[0].encoder == "convnext1d_atto" and cfg.seed == 2
    with pytest.raises(SystemExit) as exit_:
        main(["ceiling", "--variants", "fold:bad:10"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: variants: 'bad' in 'fold:bad:10'")
    cfg = parse(get_ablation("imagenet_input").config, ["--variants", "imagenet:128", "scratch:64"])
    assert [(v.init, v.image_size, v.input_norm) for v in cfg.parsed_variants()] == [
        ("imagenet", 128, "imagenet"),
        ("scratch", 64, "none"),
    ]
    cfg = parse(get_ablation("itsc").config, ["--methods", "simclr-source", "--budgets", "1", "0"])
    assert cfg.methods == ("simclr-source",) and cfg.budgets == (1, 0)


def test_missing_real_data_is_one_error_line_and_writes_nothing(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    rc = main(["itsc", "--out", str(out), "--external-data", str(tmp_path / "absent")])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: no ITSC/RAW_Signals_SF under")
    assert not out.exists()


def _tones_corpus(root: Path, per_class: int, seed: int) -> Path:
    y = np.repeat(np.arange(len(CLASSES)), per_class)
    with CorpusWriter(root, sample_rate=FS, channel_names=CHANNELS, class_names=CLASSES) as w:
        w.append(tones(y, WINDOW, seed=seed), labels=y)
    return root


def test_detection_window_trains_each_window_and_scores_its_last_stretch(tmp_path: Path) -> None:
    """A benchmark-shaped folder of tones and a tiny encoder folder: one classifier per window length, whose
    window is the requested periods, scored on the last stretch of in_dist; a rerun resumes to the same scores."""
    bench = tmp_path / "bench"
    _tones_corpus(bench / "data" / "labeled", per_class=20, seed=11)
    test = Corpus(_tones_corpus(bench / "data" / "in_dist", per_class=6, seed=12))
    encoder = tmp_path / "tiny" / "encoder"
    create_encoder(
        "convnext1d_test", "raw", 3, sample_rate=FS, window=WINDOW, channel_names=CHANNELS
    ).save(encoder)
    cfg = DetectionWindowAblationConfig(
        bench=bench,
        out=tmp_path / "out",
        periods=(2.0, 4.0),
        fundamental=312.5,  # 2 and 4 periods at 20 kHz: 128 and 256 samples
        inits=(str(encoder),),
        seeds=(0,),
        labels_per_class=5,
        epochs=1,
    )
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        results = run(cfg)
    assert list(results) == [str(encoder)] and list(results[str(encoder)]) == [2.0, 4.0]
    x, y = test.read(np.arange(test.num_windows)), test.labels()
    for periods, samples in ((2.0, 128), (4.0, 256)):
        run_dir = (
            cfg.out / f"tiny-p{periods:g}-b5-s0"
        )  # under out, named after the encoder's folder
        model = load_classifier(run_dir / "classifier_last")
        assert model.config()["window"] == samples
        pred = model.predict_windows(x[..., -samples:]).argmax(1)
        assert results[str(encoder)][periods] == [float((pred == y).mean())]
    saved = json.loads((cfg.out / "detection_window.json").read_text())
    assert saved == {
        str(encoder): {"2.0": results[str(encoder)][2.0], "4.0": results[str(encoder)][4.0]}
    }
    assert (cfg.out / "detection_window.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(cfg.out.glob(".*.tmp"))
    assert "| init | 2 periods (128 samples) | 4 periods (256 samples) |" in stdout.getvalue()
    before = (cfg.out / "tiny-p2-b5-s0" / "metrics.json").stat().st_mtime_ns
    with contextlib.redirect_stdout(io.StringIO()):
        assert run(cfg) == results
    assert (cfg.out / "tiny-p2-b5-s0" / "metrics.json").stat().st_mtime_ns == before
