"""The commands the README and docs/ show parse: every documented command line's flags are read into its typed
config by the same parser the command uses, so a renamed or removed flag fails here, not for a reader."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from ssl_waveform.config import parse

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SHELL = ("", "bash", "sh", "console", "shell")


def _shell_blocks(text: str) -> list[str]:
    """The shell code blocks of a Markdown text (fences without a language or with a shell's)."""
    blocks, current, lang = [], None, ""
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            if current is None:
                current, lang = [], line.strip()[3:].strip()
            else:
                if lang in SHELL:
                    blocks.append("\n".join(current))
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def _config_for(words: list[str]) -> tuple[type, list[str]] | None:
    """The config class a command line parses into and its arguments; None for lines that are not commands."""
    from ssl_waveform.benchmark.ablations import ABLATIONS
    from ssl_waveform.cli.benchmark import BenchmarkArgs
    from ssl_waveform.cli.corpus import CorpusArgs
    from ssl_waveform.cli.export import ExportArgs
    from ssl_waveform.cli.ingest import IngestArgs
    from ssl_waveform.cli.predict import PredictArgs
    from ssl_waveform.cli.quickstart import QuickstartArgs
    from ssl_waveform.cli.simulate import SimulateArgs
    from ssl_waveform.finetune import FinetuneConfig
    from ssl_waveform.pretrain import MAEConfig, SimCLRConfig

    by_name = {
        "simulate": SimulateArgs,
        "ingest": IngestArgs,
        "corpus": CorpusArgs,
        "finetune": FinetuneConfig,
        "predict": PredictArgs,
        "export": ExportArgs,
        "benchmark": BenchmarkArgs,
        "quickstart": QuickstartArgs,
    }
    if words[:2] == ["accelerate", "launch"]:
        words = [w for w in words[2:] if not w.startswith("--num_") and not w.startswith("--multi")]
    if words and words[0] in ("python", "python3"):
        words = words[1:]
    if words[:1] == ["-m"] and len(words) > 1 and words[1].startswith("ssl_waveform"):
        name = words[1].removeprefix("ssl_waveform").lstrip(".") or "main"
        words = ["ssl-waveform", {"zoo": "encoders"}.get(name, name), *words[2:]]
    if words[:1] and words[0].startswith("recipes/pretrain_"):
        words = [
            "ssl-waveform",
            "pretrain",
            words[0].removeprefix("recipes/pretrain_")[:-3],
            *words[1:],
        ]
    if len(words) < 2 or words[0] != "ssl-waveform":
        return None
    name, rest = words[1], words[2:]
    if name == "pretrain":
        return {"mae": MAEConfig, "simclr": SimCLRConfig}[rest[0]], rest[1:]
    if name == "ablation":
        return (ABLATIONS[rest[0]].config, rest[1:]) if rest[0] in ABLATIONS else None
    if name in ("encoders", "main"):
        return None  # no flags
    return by_name[name], rest


def _documented_commands() -> list[tuple[str, list[str]]]:
    out = []
    for doc in DOCS:
        for block in _shell_blocks(doc.read_text()):
            text = re.sub(r"\\\n\s*", " ", block)
            lines = text.splitlines()
            for i, line in enumerate(lines):
                line = line.strip().removeprefix("$ ")
                shows_an_error = i + 1 < len(lines) and lines[i + 1].startswith("error:")
                if line.startswith("#") or not line or shows_an_error or " [" in line:
                    continue  # a comment, an example of an error, a synopsis with [optional] parts
                line = line.split(" #", 1)[0]
                try:
                    words = shlex.split(line)
                except ValueError:
                    continue  # not a shell line
                words = [w for w in words if "=" not in w or w.startswith("-")]  # env assignments
                if any(w in ("|", "&&", ">", ";") for w in words):
                    continue
                if words and _config_for(words) is not None:
                    out.append((f"{doc.name}: {line}", words))
    return out


COMMANDS = _documented_commands()


def test_the_docs_show_every_command() -> None:
    shown = {words[1] if words[0] == "ssl-waveform" else words[0] for _, words in COMMANDS}
    assert len(COMMANDS) >= 20, COMMANDS
    assert shown, shown


@pytest.mark.parametrize(("where", "words"), COMMANDS, ids=[w for w, _ in COMMANDS])
def test_a_documented_command_line_parses(where: str, words: list[str]) -> None:
    found = _config_for(words)
    assert found is not None
    cls, args = found
    try:
        parse(cls, args, prog=where)
    except SystemExit as exc:  # pragma: no cover - the failure message
        pytest.fail(f"{where}: exit {exc.code}")
