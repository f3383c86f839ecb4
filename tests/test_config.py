"""The one config system (``ssl_waveform.config.parse``): flags, key=value words, YAML files, choices, errors."""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from ssl_waveform.augment.policy import _POLICIES, PolicyName
from ssl_waveform.benchmark.presets import PRESETS, PresetName
from ssl_waveform.config import ConfigError, load_config, parse
from ssl_waveform.engine import EngineConfig
from ssl_waveform.finetune import FinetuneConfig
from ssl_waveform.methods.masking import MaskingName, list_masking
from ssl_waveform.pretrain import MAEConfig
from ssl_waveform.sim.config import SimConfig
from ssl_waveform.sim.families import FAMILIES, FamilyName
from ssl_waveform.transforms import NORMALIZATION_MODES, RepresentationName, available_transforms


@dataclass
class Inner:
    """Inner.

    Attributes:
        size: a size.
    """

    size: int = 3


@dataclass
class Cmd:
    """A command.

    Attributes:
        data: a folder.
        kind: one of two.
        flag: a switch.
        tags: words.
        inner: nested.
        engine: the engine.
    """

    data: str = ""
    kind: Literal["a", "b"] = "a"
    flag: bool = False
    inner: Inner = field(default_factory=Inner)
    tags: tuple[str, ...] = ()
    engine: EngineConfig = field(default_factory=EngineConfig)


def test_literal_choices_match_the_registries() -> None:
    assert sorted(typing.get_args(RepresentationName)) == available_transforms()
    assert sorted(typing.get_args(PolicyName)) == sorted(_POLICIES)
    assert sorted(typing.get_args(MaskingName)) == list_masking()
    assert sorted(typing.get_args(FamilyName)) == sorted(FAMILIES)
    assert sorted(typing.get_args(PresetName)) == sorted(PRESETS)
    assert set(NORMALIZATION_MODES) == {
        "none",
        "per_sample",
        "per_sample_shared",
        "shared_scale",
        "corpus",
    }


def test_flags_key_value_words_and_yaml_meet_in_one_config(tmp_path: Path) -> None:
    yml = tmp_path / "c.yaml"
    yml.write_text("kind: b\ninner:\n  size: 9\nengine:\n  epochs: 4\n  betas: [0.8, 0.9]\n")
    cfg = parse(
        Cmd,
        ["--config", str(yml), "--flag", "--epochs", "6", "data=x=1", "engine.clip_grad=none"],
    )
    assert cfg.kind == "b" and cfg.inner.size == 9 and cfg.flag and cfg.data == "x=1"
    # the command line comes after the file; the alias --epochs is --engine.epochs
    assert (
        cfg.engine.epochs == 6 and cfg.engine.betas == (0.8, 0.9) and cfg.engine.clip_grad is None
    )
    assert parse(Cmd, ["--no-flag", "flag=true", "--engine.no-compile"]).flag is True


def test_bad_input_exits_with_a_message_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv, words in [
        (["--kind", "c"], ["invalid choice 'c'", "'a', 'b'"]),
        (["inner.sise=3"], ["unknown key 'inner.sise'", "inner.size"]),
        (["--engine.epochs", "0"], ["epochs=0 must be >= 1"]),
        (["--config", str(tmp_path / "missing.yaml")], ["missing.yaml not found"]),
    ]:
        with pytest.raises(SystemExit) as exc:
            parse(Cmd, argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert all(w in err for w in words), (argv, err)
    bad = tmp_path / "bad.yaml"
    bad.write_text("engine:\n  mixed_precision: fp8\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml.*invalid choice 'fp8'"):
        load_config(Cmd, bad)


def test_the_library_configs_parse_from_flags_and_yaml_presets() -> None:
    cfg = parse(
        MAEConfig, ["--config", "recipes/configs/mae_cpu.yaml", "encoder.representation=stft"]
    )
    assert cfg.encoder.representation == "stft"
    ft = parse(FinetuneConfig, ["--labels-per-class", "5", "--standardize-input", "--seed", "3"])
    assert ft.labels_per_class == 5 and ft.standardize_input and ft.engine.seed == 3
    with pytest.raises(SystemExit):
        parse(FinetuneConfig, ["--normalization", "corpus"])  # not a choice for a fresh encoder
    sim = load_config(SimConfig, overrides=["vdc=[200, 300]", "sensor.adc_bits=10"])
    assert sim.vdc == (200.0, 300.0) and sim.sensor.adc_bits == 10


def test_yaml_presets_hold_only_changes() -> None:
    """Every key of a recipe preset differs from the default it replaces (a preset repeating a default would
    silently stop following it)."""
    import yaml

    from ssl_waveform.config import config_to_dict
    from ssl_waveform.pretrain import SimCLRConfig

    def flat(d: dict, prefix: str = "") -> dict:
        out = {}
        for k, v in d.items():
            out.update(flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
        return out

    presets = sorted(Path("recipes/configs").glob("*.yaml"))
    assert len(presets) == 6
    for path in presets:
        cls = MAEConfig if path.name.startswith("mae") else SimCLRConfig
        defaults = flat(config_to_dict(cls()))
        changes = flat(yaml.safe_load(path.read_text()) or {})
        same = [k for k, v in changes.items() if defaults[k] == v]
        assert not same, f"{path.name} repeats defaults: {same}"
        load_config(cls, path)  # and is valid


def test_values_that_yaml_or_a_flag_parser_would_misread(tmp_path: Path, capsys) -> None:
    cfg = parse(Cmd, ["engine.mixed_precision=no", "data=-x", "tags=*-b5-*", "inner.size=-3"])
    assert cfg.engine.mixed_precision == "no" and cfg.data == "-x" and cfg.inner.size == -3
    assert cfg.tags == ("*-b5-*",)
    assert (
        parse(FinetuneConfig, ["--run-dir", "lr=1e-3"]).run_dir == "lr=1e-3"
    )  # a value, not a key
    yml = tmp_path / "p.yaml"
    yml.write_text("engine:\n  mixed_precision: no\n")
    with pytest.raises(
        ConfigError, match=r"p\.yaml: engine\.mixed_precision: YAML reads False.*quote"
    ):
        load_config(Cmd, yml)
    yml.write_text("data: null\n")
    with pytest.raises(ConfigError, match="data cannot be null"):
        load_config(Cmd, yml)
    yml.write_text("engine: 5\n")
    with pytest.raises(ConfigError, match="engine must be a mapping"):
        load_config(Cmd, yml)


def test_a_bad_value_names_the_file_or_override_that_set_it(tmp_path: Path, capsys) -> None:
    yml = tmp_path / "bad.yaml"
    yml.write_text("kind: c\n")
    with pytest.raises(SystemExit):
        parse(Cmd, ["--config", str(yml)])
    assert capsys.readouterr().err.startswith(f"error: config file {yml}: invalid choice 'c'")
    with pytest.raises(SystemExit):
        parse(Cmd, ["engine.epochs=x"])
    assert capsys.readouterr().err.startswith("error: override 'engine.epochs=x': ")


def test_overrides_apply_together() -> None:
    # patience needs monitor: one at a time, the first would be refused
    cfg = load_config(Cmd, overrides=["engine.patience=3", "engine.monitor=val_acc"])
    assert cfg.engine.patience == 3 and cfg.engine.monitor == "val_acc"


def test_finetune_normalizations_are_the_modes_a_fresh_encoder_can_use() -> None:
    from ssl_waveform.finetune.run import FINETUNE_NORMALIZATIONS

    assert set(FINETUNE_NORMALIZATIONS) == set(NORMALIZATION_MODES) - {"corpus"}


def test_simulate_pretraining_starts_from_the_broad_config_however_it_is_given(
    tmp_path: Path,
) -> None:
    from ssl_waveform.cli.simulate import main
    from ssl_waveform.data import Corpus

    for i, word in enumerate(["--pretraining", "pretraining=true"]):
        out = tmp_path / f"c{i}"
        main(
            ["--out", str(out), "--windows", "2", word, "--no-progress", "--sim.vdc", "200", "300"]
        )
        sim = Corpus(out).description["sim_config"]
        assert sim["families"] == list(SimConfig.pretraining().families) and sim["vdc"] == [
            200.0,
            300.0,
        ]


def test_quickstart_refuses_no_seeds(capsys) -> None:
    from ssl_waveform.cli.quickstart import main

    with pytest.raises(SystemExit) as exc:
        main(["--seeds"])
    assert exc.value.code == 2 and "at least one fine-tuning seed" in capsys.readouterr().err
