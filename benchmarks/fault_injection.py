"""Fault injection: kills, corruptions and bad inputs against the library's commands; prints docs/reliability.md's table.

1. **Kills.** A tiny fine-tuning run (1-D ConvNeXt on a synthetic three-phase tone corpus) and a tiny ``simulate``
   are SIGKILLed at a random moment and run again with the same command. A kill is *survived* when the rerun
   finishes and its result is bitwise identical to an uninterrupted run's (classifier weights; corpus shard bytes).
2. **Corruptions.** Copies of a small corpus get random byte flips (16 bytes at a random offset of a random
   shard, file size unchanged) or a truncation (a random number of bytes cut from a shard's end). A corruption is
   *detected* when opening the corpus or reading every window raises a ``CorpusError`` naming the shard.
3. **Bad inputs.** Each case runs a command line on a bad input; it counts as handled when the command exits 2
   with one ``error:`` line on stderr naming the file (or value), no traceback, and leaves no partial output.

Usage:
    python benchmarks/fault_injection.py --out runs/fault_injection --kills 4 --corruptions 40
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import platform
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ssl_waveform.config import parse
from ssl_waveform.data import Corpus, CorpusError, CorpusWriter

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
FS, WINDOW, CLASSES = 20_000.0, 512, ["low", "mid", "high"]


@dataclass
class FaultInjectionConfig:
    """Where the run writes and how many faults it injects.

    Attributes:
        out: working folder; deleted and created afresh at the start of every run.
        kills: kill/rerun tries per command (fine-tuning and simulate).
        corruptions: tries per corruption kind (byte flips and truncation).
        seed: seed of the kill moments and of the corruptions.
    """

    out: Path = Path("runs/fault_injection")
    kills: int = 4
    corruptions: int = 40
    seed: int = 0


def tones(labels: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(WINDOW) / FS
    f = np.array([500.0, 1500.0, 4000.0])[labels][:, None, None]
    shift = 2 * np.pi / 3 * np.arange(3)[None, :, None]
    phase = rng.uniform(0, 2 * np.pi, (len(labels), 1, 1))
    x = np.sin(2 * np.pi * f * t + phase - shift) + 0.05 * rng.normal(size=(len(labels), 3, WINDOW))
    return x.astype(np.float32)


def tone_corpus(root: Path, n: int = 90, windows_per_shard: int = 30) -> Path:
    y = np.arange(n) % 3
    with CorpusWriter(root, sample_rate=FS, channel_names=["ia", "ib", "ic"], class_names=CLASSES,
                      windows_per_shard=windows_per_shard) as w:  # fmt: skip
        w.append(tones(y, seed=1), labels=y)
    return root


def digest(folder: Path, pattern: str) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.glob(pattern)):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def run(cmd: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=timeout)


def kill_after(cmd: list[str], seconds: float) -> bool:
    """Start ``cmd``, SIGKILL it after ``seconds``; True when it was still running (a real interruption)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    time.sleep(seconds)
    alive = proc.poll() is None
    if alive:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    return alive


# ---------------------------------------------------------------------------------------------- kills
def finetune_cmd(corpus: Path, run_dir: Path) -> list[str]:
    return [
        sys.executable, "-m", "ssl_waveform.finetune", "--data", str(corpus), "--run-dir", str(run_dir),
        "--init", "scratch", "--encoder", "convnext1d_test", "--representation", "raw", "--epochs", "6",
        "--batch-size", "15", "--select", "last", "engine.checkpoint_every=2", "min_batches_per_epoch=4",
    ]  # fmt: skip


def simulate_cmd(out: Path) -> list[str]:
    return [sys.executable, "-m", "ssl_waveform.simulate", "--out", str(out), "--windows", "96", "--seed", "5",
            "--config", str(out.parent / "sim.yaml"), "--no-progress"]  # fmt: skip


def kills(out: Path, tries: int, rng: random.Random) -> list[tuple[str, int, int, int]]:
    corpus = tone_corpus(out / "tones")
    ref = out / "ft_reference"
    assert run(finetune_cmd(corpus, ref)).returncode == 0
    ref_weights = digest(ref / "classifier_last", "model.safetensors")
    start = time.time()
    run(finetune_cmd(corpus, out / "ft_timing"))
    duration = time.time() - start
    survived = interrupted = 0
    for k in range(tries):
        run_dir = out / f"ft_kill{k}"
        interrupted += kill_after(finetune_cmd(corpus, run_dir), rng.uniform(0.3, 0.9) * duration)
        done = run(finetune_cmd(corpus, run_dir))
        same = (
            done.returncode == 0
            and digest(run_dir / "classifier_last", "model.safetensors") == ref_weights
        )
        survived += same
    rows = [("fine-tuning (SIGKILL, rerun)", tries, interrupted, survived)]

    (out / "sim.yaml").write_text("window: 256\nsettle: 0.02\nwindows_per_shard: 8\n")
    ref_sim = out / "sim_reference"
    assert run(simulate_cmd(ref_sim)).returncode == 0
    ref_bytes = digest(ref_sim, "shard-*.h5")
    start = time.time()
    run(simulate_cmd(out / "sim_timing"))
    duration = time.time() - start
    survived = interrupted = 0
    for k in range(tries):
        target = out / f"sim_kill{k}"
        interrupted += kill_after(simulate_cmd(target), rng.uniform(0.3, 0.9) * duration)
        done = run(simulate_cmd(target))
        survived += done.returncode == 0 and digest(target, "shard-*.h5") == ref_bytes
    rows.append(("simulate (SIGKILL, rerun)", tries, interrupted, survived))
    return rows


# ---------------------------------------------------------------------------------------------- corruptions
def detected(root: Path) -> bool:
    try:
        Corpus(root).verify()
    except CorpusError:
        return True
    return False


def corruptions(out: Path, tries: int, rng: random.Random) -> list[tuple[str, int, int]]:
    clean = tone_corpus(out / "clean", n=300, windows_per_shard=100)
    rows = []
    for kind in ("flip 16 bytes", "truncate"):
        found = 0
        for k in range(tries):
            copy = out / f"corrupt_{kind.split()[0]}_{k}"
            shutil.copytree(clean, copy)
            shard = rng.choice(sorted(copy.glob("shard-*.h5")))
            data = bytearray(shard.read_bytes())
            if kind == "truncate":
                data = data[: rng.randrange(1, len(data))]
            else:
                at = rng.randrange(0, len(data) - 16)
                data[at : at + 16] = bytes(b ^ 0xFF for b in data[at : at + 16])
            shard.write_bytes(bytes(data))
            found += detected(copy)
        rows.append((kind, tries, found))
    return rows


# ---------------------------------------------------------------------------------------------- bad inputs
def bad_inputs(out: Path) -> list[tuple[str, bool, str]]:
    d = out / "bad"
    d.mkdir()
    clf = out / "ft_reference" / "classifier_last"
    good = tones(np.arange(3) % 3, seed=3)

    def npz(name: str, **arrays) -> Path:
        np.savez(d / name, **arrays)
        return d / name

    x_nan = good.copy()
    x_nan[1, 2, 7] = np.nan
    broken_clf = d / "clf_pickle"
    shutil.copytree(clf, broken_clf)
    (broken_clf / "model.safetensors").write_bytes(pickle.dumps({"weights": 1}))
    version_clf = d / "clf_version"
    shutil.copytree(clf, version_clf)
    cfg = json.loads((version_clf / "config.json").read_text())
    cfg["format_version"] = 99
    (version_clf / "config.json").write_text(json.dumps(cfg))
    (d / "corrupt.npz").write_bytes(b"PK\x03\x04 not really a zip")

    ing = [sys.executable, "-m", "ssl_waveform.ingest", "--sample-rate", "20000", "--quiet"]
    pred = [sys.executable, "-m", "ssl_waveform.predict", "--sample-rate", "20000"]
    cases: list[tuple[str, list[str], str, Path | None]] = [
        ("ingest: NaN in a window array", [*ing, str(npz("nan.npz", x=x_nan)), "--out", str(d / "o1")],
         "window 1, channel 2", d / "o1"),
        ("ingest: corrupt NPZ", [*ing, str(d / "corrupt.npz"), "--out", str(d / "o2"), "--window", "64"],
         "corrupt.npz", d / "o2"),
        ("ingest: 4-D array", [*ing, str(npz("four.npz", x=np.zeros((2, 3, 4, 5)))), "--out", str(d / "o3"),
                               "--window", "2"], "four.npz", d / "o3"),
        ("ingest: labels of the wrong length", [*ing, str(npz("len.npz", x=good, y=[0, 1])), "--out",
                                                str(d / "o4")], "expected one entry per window", d / "o4"),
        ("ingest: [N, T, C] layout", [*ing, str(npz("ntc.npz", x=good.transpose(0, 2, 1))), "--out",
                                      str(d / "o5"), "--channels", "ia,ib,ic"], "[N, C, T]", d / "o5"),
        ("predict: NaN in the second file", [*pred, "--checkpoint", str(clf), "--input", str(npz("ok.npz", x=good)),
                                             str(d / "nan.npz"), "--output", str(d / "p1.csv")],
         "nan.npz", d / "p1.csv"),
        ("predict: --sample-rate 1", [sys.executable, "-m", "ssl_waveform.predict", "--checkpoint", str(clf),
                                      "--input", str(d / "ok.npz"), "--sample-rate", "1", "--output",
                                      str(d / "p2.csv")], "outside [1/100, 100]", d / "p2.csv"),
        ("predict: --hop 0", [*pred, "--checkpoint", str(clf), "--input", str(d / "ok.npz"), "--hop", "0",
                              "--output", str(d / "p3.csv")], "--hop", d / "p3.csv"),
        ("predict: recording shorter than the window", [*pred, "--checkpoint", str(clf), "--input",
                                                        str(npz("short.npz", x=good[:, :, :100])), "--output",
                                                        str(d / "p4.csv")], "shorter than one window", d / "p4.csv"),
        ("predict: pickle saved as model.safetensors", [*pred, "--checkpoint", str(broken_clf), "--input",
                                                        str(d / "ok.npz"), "--output", str(d / "p5.csv")],
         "model.safetensors", d / "p5.csv"),
        ("predict: config.json format_version 99", [*pred, "--checkpoint", str(version_clf), "--input",
                                                    str(d / "ok.npz"), "--output", str(d / "p6.csv")],
         "format_version 99", d / "p6.csv"),
        ("finetune: unknown augmentation", [sys.executable, "-m", "ssl_waveform.finetune", "augment=wobble",
                                            "--run-dir", str(d / "f1")], "augment", d / "f1"),
        ("finetune: rerun with another label budget",
         [*finetune_cmd(out / "tones", out / "ft_reference"), "--labels-per-class", "3"], "other settings", None),
        ("corpus verify: flipped bytes", [sys.executable, "-m", "ssl_waveform.corpus", "verify",
                                          str(out / "corrupt_flip_0")], "shard-", None),
    ]  # fmt: skip
    results = []
    for name, cmd, needle, output in cases:
        done = run(cmd)
        lines = [
            ln for ln in done.stderr.strip().splitlines() if ln.strip() and "Warning" not in ln
        ]
        ok = (
            done.returncode == 2
            and len(lines) >= 1
            and lines[-1].startswith("error: ")
            and needle in lines[-1]
            and "Traceback" not in done.stderr
            and (output is None or not output.exists())
        )
        results.append((name, ok, lines[-1][:140] if lines else done.stderr[-140:]))
    return results


def main(argv: list[str] | None = None) -> None:
    args = parse(
        FaultInjectionConfig, argv, prog="python benchmarks/fault_injection.py", description=__doc__
    )
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    rng = random.Random(args.seed)
    kill_rows = kills(args.out, args.kills, rng)
    corrupt_rows = corruptions(args.out, args.corruptions, rng)
    bad_rows = bad_inputs(args.out)
    print(
        f"\nfault injection, seed {args.seed}, {platform.machine()}, python {platform.python_version()}\n"
    )
    print(
        "| kills | tried | interrupted mid-run | survived (rerun finishes, bitwise-identical result) |"
    )
    print("|---|---|---|---|")
    for name, tried, interrupted, survived in kill_rows:
        print(f"| {name} | {tried} | {interrupted} | {survived} |")
    print(
        "\n| corruption of a 3-shard corpus | tried | detected at open or first read |\n|---|---|---|"
    )
    for name, tried, found in corrupt_rows:
        print(f"| {name} | {tried} | {found} |")
    handled = sum(ok for _, ok, _ in bad_rows)
    print(
        f"\nbad inputs: {handled} of {len(bad_rows)} answered with one error line, exit 2, nothing written\n"
    )
    print("| bad input | handled | message |\n|---|---|---|")
    for name, ok, message in bad_rows:
        print(f"| {name} | {'yes' if ok else '**no**'} | `{message}` |")


if __name__ == "__main__":
    main()
