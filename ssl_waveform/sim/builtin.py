"""Built-in simulated corpora used when a command is run without ``data``.

They are generated once (resumably) under ``<runs>/data/`` by the converter simulator, and reused by later runs
with the same size and seed. The labeled set uses the default randomisation and the 22 open-switch classes;
the unlabeled corpus the broad one meant for pretraining (every fault family, both control modes, miscalibrated
sensors: ``SimConfig.pretraining``).
"""

from __future__ import annotations

from pathlib import Path

from ssl_waveform.sim.config import SimConfig
from ssl_waveform.sim.corpus import write_corpus


def _corpus(runs: str | Path, windows: int, seed: int, labeled: bool) -> Path:
    kind = "labeled" if labeled else "unlabeled"
    # "broad": the unlabeled corpus uses SimConfig.pretraining (a new name, so older corpora are not reused)
    name = "labeled" if labeled else "unlabeled_broad"
    root = Path(runs) / "data" / f"sim_{name}_n{windows}_seed{seed}"
    if not (root / "manifest.json").is_file():
        print(f"simulating the built-in {kind} corpus ({windows} windows, seed {seed}) into {root}")
        cfg = SimConfig() if labeled else SimConfig.pretraining()
        write_corpus(root, cfg, windows, seed=seed, labeled=labeled)
    return root


def builtin_unlabeled_corpus(runs: str | Path = "runs", windows: int = 6000, seed: int = 0) -> Path:
    """Folder of the built-in unlabeled simulated corpus (broad randomisation, ``SimConfig.pretraining``)."""
    return _corpus(runs, windows, seed, labeled=False)


def builtin_labeled_corpus(runs: str | Path = "runs", windows: int = 2640, seed: int = 1) -> Path:
    """Folder of the built-in labeled simulated corpus (the 22 open-switch classes)."""
    return _corpus(runs, windows, seed, labeled=True)
