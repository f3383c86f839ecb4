"""``python -m ssl_waveform.<name>``: every documented command's entry point runs its command line.

The entry modules are run as ``python -m`` runs them (``runpy``, as ``__main__``) in this process; one real
interpreter per command would cost seconds each (``tests/test_predict.py`` starts one for ``predict``).
"""

from __future__ import annotations

import importlib
import runpy
import sys

import pytest

COMMANDS = [
    "corpus",
    "ingest",
    "simulate",
    "quickstart",
    "predict",
    "export",
    "finetune",
    "benchmark",
]


@pytest.mark.filterwarnings(
    "ignore:.*found in sys.modules:RuntimeWarning"
)  # imported by other tests
@pytest.mark.parametrize("name", COMMANDS)
def test_help_names_the_command(name, capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", [name, "--help"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_module(f"ssl_waveform.{name}", run_name="__main__")
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: ssl-waveform {name}")
    # argparse prints "options:", tyro a box titled "options"
    assert "options" in out and "--help" in out


@pytest.mark.parametrize(
    ("module", "name"),
    [("corpus", "corpus"), ("ingest", "ingest"), ("simulate", "simulate"), ("quickstart", "quickstart"),
     ("finetune.__main__", "finetune"), ("benchmark.__main__", "benchmark"), ("zoo.__main__", "encoders")],
)  # fmt: skip
def test_entry_module_runs_the_cli_package_main(module, name):
    entry = importlib.import_module(f"ssl_waveform.{module}")
    assert entry.main is importlib.import_module(f"ssl_waveform.cli.{name}").main


@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")
def test_a_user_error_exits_with_status_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["corpus", "info", str(tmp_path / "missing")])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_module("ssl_waveform.corpus", run_name="__main__")
    assert exit_info.value.code == 2 and capsys.readouterr().err.startswith("error: ")
