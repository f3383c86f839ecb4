"""Built-in simulated corpora used when a command is run without ``data``.

They are generated once (resumably) under ``<runs>/data/`` by the converter simulator with its default
domain randomisation, and reused by later runs with the same size and seed.
"""

from __future__ import annotations

from pathlib import Path


def _corpus(runs: str | Path, windows: int, seed: int, labeled: bool) -> Path:
    from ssl_waveform.sim.config import SimConfig
    from ssl_waveform.sim.corpus import write_corpus

    kind = "labeled" if labeled else "unlabeled"
    root = Path(runs) / "data" / f"sim_{kind}_n{windows}_seed{seed}"
    if not (root / "manifest.json").is_file():
        print(f"simulating the built-in {kind} corpus ({windows} windows, seed {seed}) into {root}")
        write_corpus(root, SimConfig(), windows, seed=seed, labeled=labeled)
    return root


def builtin_unlabeled_corpus(runs: str | Path = "runs", windows: int = 6000, seed: int = 0) -> Path:
    """Folder of the built-in unlabeled simulated corpus (mostly healthy, like field data)."""
    return _corpus(runs, windows, seed, labeled=False)


def builtin_labeled_corpus(runs: str | Path = "runs", windows: int = 2640, seed: int = 1) -> Path:
    """Folder of the built-in labeled simulated corpus (the 22 open-switch classes)."""
    return _corpus(runs, windows, seed, labeled=True)
