"""The one config system: tyro flags and YAML files of changes (``ssl_waveform.config``, ``ssl_waveform.serialize``)."""

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
from ssl_waveform.serialize import save_config, to_dict, valid_keys, with_changes
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


def test_flags_and_a_yaml_file_meet_in_one_config(tmp_path: Path) -> None:
    yml = tmp_path / "c.yaml"
    yml.write_text("kind: b\ninner:\n  size: 9\nengine:\n  epochs: 4\n  betas: [0.8, 0.9]\n")
    cfg = parse(
        Cmd,
        [
            "--config",
            str(yml),
            "--flag",
            "--epochs",
            "6",
            "--data",
            "x=1",
            "--engine.clip-grad",
            "None",
        ],
    )
    assert cfg.kind == "b" and cfg.inner.size == 9 and cfg.flag and cfg.data == "x=1"
    # the command line comes after the file; the alias --epochs is --engine.epochs
    assert (
        cfg.engine.epochs == 6 and cfg.engine.betas == (0.8, 0.9) and cfg.engine.clip_grad is None
    )
    assert parse(Cmd, ["--flag", "--no-flag", "--engine.no-compile"]).flag is False


def test_bad_input_exits_with_status_2_and_a_message_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv, words in [
        (["--kind", "c"], ["--kind", "'c'"]),  # tyro's own message
        (["--inner.sise", "3"], ["--inner.sise"]),
        (["--config", str(tmp_path / "missing.yaml")], ["error: config file", "not found"]),
    ]:
        with pytest.raises(SystemExit) as exc:
            parse(Cmd, argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert all(w in err for w in words), (argv, err)
    # a dataclass's own check: one error line, not tyro's box
    with pytest.raises(SystemExit) as exc:
        parse(Cmd, ["--engine.epochs", "0"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.startswith("error: EngineConfig: epochs=0 must be >= 1")
    assert len(err.strip().splitlines()) == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("engine:\n  mixed_precision: fp8\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml.*engine\.mixed_precision"):
        load_config(Cmd, bad)


def test_the_library_configs_parse_from_flags_and_yaml_presets() -> None:
    cfg = parse(
        MAEConfig,
        ["--config", "recipes/configs/mae_cpu.yaml", "--encoder.representation", "stft"],
    )
    assert cfg.encoder.representation == "stft"
    assert cfg.engine == load_config(MAEConfig, "recipes/configs/mae_cpu.yaml").engine
    ft = parse(FinetuneConfig, ["--labels-per-class", "5", "--standardize-input", "--seed", "3"])
    assert ft.labels_per_class == 5 and ft.standardize_input and ft.engine.seed == 3
    with pytest.raises(SystemExit):
        parse(FinetuneConfig, ["--normalization", "corpus"])  # not a choice for a fresh encoder


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


def test_yaml_values_are_type_checked_not_coerced(tmp_path: Path) -> None:
    yml = tmp_path / "p.yaml"
    for text, match in [
        ("engine:\n  mixed_precision: no\n", r"p\.yaml.*engine\.mixed_precision.*False"),
        ("data: null\n", r"p\.yaml.*\"data\""),
        ("engine: 5\n", r"p\.yaml.*\"engine\""),
        ("engine:\n  epochs: 2.5\n", r"engine\.epochs.*2\.5"),
        ("engine:\n  compile: 1\n", r"engine\.compile"),
        ("engine:\n  base_lr: fast\n", r"engine\.base_lr.*fast"),
        ("engine:\n  epoch: 3\n", r"unknown key.*'epoch'.*engine\.epochs"),
        ("engine:\n  epochs: 0\n", r"p\.yaml: EngineConfig: epochs=0 must be >= 1"),
        ("- 1\n", r"p\.yaml: expected a mapping"),
    ]:
        yml.write_text(text)
        with pytest.raises(ConfigError, match=match):
            load_config(Cmd, yml)
    # YAML 1.1 reads 1e-3 as text: a float field takes it; ints widen to floats
    yml.write_text("engine:\n  base_lr: 1e-3\n  min_lr: 0\n  betas: [0.5, 0.6]\n")
    eng = load_config(Cmd, yml).engine
    assert eng.base_lr == 1e-3 and isinstance(eng.min_lr, float) and eng.betas == (0.5, 0.6)


def test_changes_apply_together() -> None:
    # patience needs monitor: one at a time, the first would be refused
    cfg = with_changes(Cmd, {"engine": {"patience": 3, "monitor": "val_acc"}})
    assert cfg.engine.patience == 3 and cfg.engine.monitor == "val_acc"
    base = with_changes(Cmd, {"kind": "b"})
    assert with_changes(Cmd, {"data": "d"}, base=base) == Cmd(data="d", kind="b")


def test_saved_config_round_trips(tmp_path: Path) -> None:
    cfg = with_changes(Cmd, {"engine": {"warmup_steps": 7}, "tags": ["a"], "data": "n"})
    for name in ("cfg.yaml", "cfg.json"):
        path = save_config(cfg, tmp_path / name)
        assert not list(tmp_path.glob("*.tmp"))
        assert load_config(Cmd, path) == cfg  # JSON is YAML
    assert to_dict(cfg)["engine"]["betas"] == [0.9, 0.95]
    assert "engine.base_lr" in valid_keys(Cmd) and "inner.size" in valid_keys(Cmd)


def test_finetune_normalizations_are_the_modes_a_fresh_encoder_can_use() -> None:
    from ssl_waveform.finetune.run import FinetuneNormalization

    assert set(typing.get_args(FinetuneNormalization)) == set(NORMALIZATION_MODES) - {"corpus"}


def test_simulate_pretraining_starts_from_the_broad_config_however_it_is_given(
    tmp_path: Path,
) -> None:
    from ssl_waveform.cli.simulate import main
    from ssl_waveform.data import Corpus

    for i, word in enumerate(["--pretraining"]):
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
