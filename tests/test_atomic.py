"""Atomic writes: content lands whole, a failed write leaves the old file and no temporary behind."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ssl_waveform._atomic import (
    atomic_path,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    temporary_path,
)


def test_writes_replace_content_and_leave_only_the_target(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    atomic_write_bytes(path, b"old")
    atomic_write_bytes(path, b"\x00new\xff")
    assert path.read_bytes() == b"\x00new\xff"
    atomic_write_text(tmp_path / "t.txt", "h\u00e9 ho\n")
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "h\u00e9 ho\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin", "t.txt"]


def test_json_round_trips_with_indent_and_final_newline(tmp_path: Path) -> None:
    obj = {"b": [1, 2.5, None], "a": {"x": "y"}}
    path = tmp_path / "c.json"
    atomic_write_json(path, obj, sort_keys=True)
    text = path.read_text()
    assert json.loads(text) == obj
    assert text == json.dumps(obj, indent=2, sort_keys=True) + "\n"


def test_a_write_raising_midway_keeps_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_path(path) as tmp:
            assert tmp.parent == path.parent and tmp.name.startswith(".f.txt.")
            tmp.write_text("half of the new")
            raise RuntimeError("disk full")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_unserialisable_json_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    with pytest.raises(TypeError):
        atomic_write_json(path, {"x": object()})
    assert list(tmp_path.iterdir()) == []


def test_temporary_is_a_hidden_sibling_named_by_pid(tmp_path: Path) -> None:
    tmp = temporary_path(tmp_path / "shard-000001.h5")
    assert tmp == tmp_path / f".shard-000001.h5.{os.getpid()}.tmp"
    assert not list(tmp_path.glob("shard-*.h5"))
