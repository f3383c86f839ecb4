"""The one console script ``ssl-waveform``: subcommand dispatch, help and error exits."""

from __future__ import annotations

import importlib

import pytest

from ssl_waveform.cli.main import COMMANDS, main


def test_every_subcommand_resolves_to_a_callable() -> None:
    for name, (module, function, help_) in COMMANDS.items():
        assert callable(getattr(importlib.import_module(module), function)), name
        assert help_, name


def test_help_lists_every_subcommand(capsys) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert f"  {name} " in out
    assert main([]) == 2, "no command is a usage error"


def test_unknown_command_is_one_error_line_and_exit_2(capsys) -> None:
    assert main(["simulte"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown command 'simulte'") and err.count("\n") == 1


def test_pretrain_needs_a_known_method(capsys) -> None:
    assert main(["pretrain"]) == 2
    assert "one of mae, simclr; got nothing" in capsys.readouterr().err
    assert main(["pretrain", "byol"]) == 2
    assert "got 'byol'" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["pretrain", "simclr", "--help"], ["finetune", "--help"]])
def test_subcommand_help_is_the_commands_own(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as err:
        main(argv)
    assert err.value.code == 0
    out = capsys.readouterr().out
    assert "--engine.epochs" in out or "--epochs" in out


def test_encoders_lists_the_shipped_names(capsys) -> None:
    from ssl_waveform.zoo import list_pretrained

    assert main(["encoders"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in list_pretrained())
