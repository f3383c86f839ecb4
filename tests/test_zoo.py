"""Shipped encoders: every file matches its checksum, loads offline, fine-tunes by name, and plain timm reads it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy
import timm
import torch

import ssl_waveform
from ssl_waveform import zoo
from ssl_waveform.cli.encoders import main as zoo_main
from ssl_waveform.models import create_encoder, load_encoder, resolve_encoder_folder
from ssl_waveform.zoo.build import ship_encoder

SHIPPED = zoo.list_pretrained()
CARD_SECTIONS = ("## Data", "## Command", "## Training", "## Machine", "## Results", "## Licence")


def test_something_is_shipped_and_listed_at_top_level() -> None:
    assert SHIPPED, "the package ships at least one pretrained encoder"
    assert ssl_waveform.list_pretrained() == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_files_match_recorded_checksums_and_size(name: str) -> None:
    info = zoo.pretrained_info(name)
    assert set(info.sha256) == set(zoo.SHIPPED_FILES)
    for file, expected in info.sha256.items():
        assert zoo.sha256_file(info.folder / file) == expected, file
    weights = info.folder / "model.safetensors"
    assert weights.stat().st_size <= 20 * 2**20, "at most 20 MB per shipped encoder"
    dtypes = {v.dtype for v in safetensors.numpy.load_file(str(weights)).values()}
    assert np.dtype(np.float16) in dtypes and np.dtype(np.float32) not in dtypes


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_encoder_loads_by_name_and_embeds(name: str) -> None:
    enc = ssl_waveform.load_encoder(name)
    config = json.loads((zoo.pretrained_info(name).folder / "config.json").read_text())
    x = torch.randn(3, enc.in_chans, int(config["window"]))
    with torch.no_grad():
        z = enc(x)
    assert z.shape == (3, enc.num_features)
    assert torch.isfinite(z).all()
    assert all(p.dtype == torch.float32 for p in enc.parameters()), "fp16 files load into fp32"
    # not the same as a fresh encoder: the weights are really the shipped ones
    fresh = create_encoder(
        config["architecture"]["name"], config["representation"]["name"], enc.in_chans
    )
    assert not torch.equal(
        next(iter(enc.backbone.state_dict().values())),
        next(iter(fresh.backbone.state_dict().values())),
    )


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_card_says_what_made_it(name: str) -> None:
    card = zoo.model_card(name)
    for section in CARD_SECTIONS:
        assert section in card, f"model card of {name} lacks {section!r}"


@pytest.mark.parametrize("name", SHIPPED)
def test_plain_timm_loads_shipped_2d_weights(name: str) -> None:
    enc = load_encoder(name)
    if enc.kind != "2d":
        pytest.skip("1-D encoders are not timm models")
    model = timm.create_model(
        enc.config.architecture.name,
        pretrained=True,
        pretrained_cfg_overlay=dict(file=str(zoo.pretrained_folder(name) / "model.safetensors")),
        num_classes=0,
        in_chans=enc.in_chans,
    ).eval()
    image = enc.transform(torch.randn(2, enc.in_chans, int(enc.config.window)))
    with torch.no_grad():
        assert torch.allclose(model(image), enc.forward_input(image), atol=1e-5)


def test_unknown_name_lists_shipped_ones() -> None:
    with pytest.raises(KeyError, match="shipped: "):
        zoo.pretrained_folder("no_such_encoder")
    with pytest.raises(FileNotFoundError):
        load_encoder("no_such_encoder")  # neither a folder nor a shipped name


def test_listing_command_and_model_card(capsys) -> None:
    zoo_main([])
    listed = capsys.readouterr().out
    for name in SHIPPED:
        assert listed.startswith(name) or f"\n{name}\t" in listed
    zoo_main([SHIPPED[0]])
    assert "## Results" in capsys.readouterr().out
    with pytest.raises(SystemExit) as err:
        zoo_main(["no_such_encoder"])
    assert err.value.code == 2
    assert "error: no shipped encoder named 'no_such_encoder'" in capsys.readouterr().err


def _tmp_zoo(tmp_path: Path, monkeypatch) -> Path:
    src = create_encoder("test_convnext", "fold", 3).save(tmp_path / "src")
    root = tmp_path / "zoo"
    ship_encoder(src, "toy_encoder", "a toy", "# toy\n", zoo_dir=root)
    monkeypatch.setattr(zoo, "ZOO_DIR", root)
    monkeypatch.setattr(zoo, "REGISTRY_FILE", root / "registry.json")
    zoo._verified.cache_clear()
    return root


def test_ship_encoder_writes_fp16_weights_and_checksums_that_load_back(
    tmp_path: Path, monkeypatch
) -> None:
    root = _tmp_zoo(tmp_path, monkeypatch)
    assert zoo.list_pretrained() == ["toy_encoder"]
    enc = load_encoder("toy_encoder")
    src = load_encoder(tmp_path / "src")
    for (k, a), b in zip(enc.state_dict().items(), src.state_dict().values(), strict=True):
        assert torch.allclose(a, b.half().float()), k
    registry = json.loads((root / "registry.json").read_text())
    assert registry["toy_encoder"]["summary"] == "a toy"
    zoo._verified.cache_clear()


def test_damaged_shipped_file_is_refused_naming_it(tmp_path: Path, monkeypatch) -> None:
    root = _tmp_zoo(tmp_path, monkeypatch)
    weights = root / "toy_encoder" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"model\.safetensors.*SHA-256.*reinstall"):
        load_encoder("toy_encoder")
    zoo._verified.cache_clear()
    shutil.rmtree(root / "toy_encoder")
    with pytest.raises(FileNotFoundError, match="missing"):
        load_encoder("toy_encoder")
    zoo._verified.cache_clear()


@pytest.mark.parametrize("bad", ["../escape", "Zoo", "névé", "scratch", "mae", "auto"])
def test_ship_encoder_rejects_bad_and_reserved_names(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="letters, digits"):
        ship_encoder(tmp_path, bad, "x", "x", zoo_dir=tmp_path / "zoo")


def test_an_encoder_folder_of_the_same_name_wins_over_the_shipped_one(
    tmp_path: Path, monkeypatch
) -> None:
    name = SHIPPED[0]
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).mkdir()  # not an encoder folder: the shipped encoder is still found
    assert resolve_encoder_folder(name) == zoo.pretrained_folder(name)
    create_encoder("test_convnext", "fold", 3).save(tmp_path / name)
    assert load_encoder(name).config.architecture.name == "test_convnext"
