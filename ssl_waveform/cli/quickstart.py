"""``python -m ssl_waveform.quickstart`` (what ``make quickstart`` runs): the main job on built-in defaults.

Simulates a labeled fault set (22 open-switch classes) and fine-tunes the shipped pretrained encoder
(``convnext_atto_fold_simclr``, inside the package: no pretraining, no download) and a from-scratch encoder with few
labels per class for three seeds (each seed draws its own labeled subset; both encoders see the same ones), then
prints test accuracy and macro-F1 as mean ± sd over the seeds. Fine-tuning keeps the last epoch of a fixed
schedule, so no labeled validation data picks anything (and none is split off: 75 % of the labeled set is the pool
the labels are drawn from, 25 % the test set). About 3 minutes on 2 CPU cores.

``--pretrain mae`` (or ``simclr``) pretrains your own encoder on a simulated unlabeled corpus first and fine-tunes
that instead (about 6 minutes). Every step resumes when re-run after an interruption.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ssl_waveform._atomic import atomic_write_json, atomic_write_text
from ssl_waveform.config import parse
from ssl_waveform.evaluation import mean_sd
from ssl_waveform.finetune import FinetuneConfig, finetune
from ssl_waveform.identity import SCRATCH, Init, InitArg
from ssl_waveform.pretrain import MAEConfig, SimCLRConfig, pretrain_mae, pretrain_simclr
from ssl_waveform.serialize import ConfigError
from ssl_waveform.sim import builtin_labeled_corpus, builtin_unlabeled_corpus
from ssl_waveform.transforms import RepresentationName

SHIPPED = Init("shipped", "convnext_atto_fold_simclr")


@dataclass
class QuickstartArgs:
    """Arguments of ``python -m ssl_waveform.quickstart``.

    Attributes:
        runs: runs root (corpora under ``runs/data``, results under ``runs/quickstart``).
        init: the pretrained encoder compared with scratch: a shipped encoder's name (``python -m
            ssl_waveform.zoo`` lists them) or an encoder folder; ignored with ``pretrain``.
        pretrain: ``none`` (fine-tune ``init``), or ``mae`` / ``simclr``: pretrain your own encoder on the
            simulated unlabeled corpus first and compare that with scratch.
        unlabeled_windows: size of the simulated unlabeled pretraining corpus (with ``pretrain``).
        labeled_windows: size of the simulated labeled fault set (22 classes).
        labels_per_class: labeled training windows per class for fine-tuning.
        pretrain_epochs: pretraining epochs (with ``pretrain``).
        finetune_epochs: fine-tuning epochs (the last one is kept).
        seeds: fine-tuning seeds (each draws its own labeled subset).
        encoder: backbone.
        representation: waveform representation.
    """

    runs: str = "runs"
    init: InitArg = SHIPPED
    pretrain: Literal["none", "mae", "simclr"] = "none"
    unlabeled_windows: int = 4096
    labeled_windows: int = 2640
    labels_per_class: int = 5
    pretrain_epochs: int = 6
    finetune_epochs: int = 8
    seeds: tuple[int, ...] = (0, 1, 2)
    encoder: str = "convnext_atto"
    representation: RepresentationName = "fold"

    def __post_init__(self) -> None:
        if not self.seeds:
            raise ConfigError("seeds: give at least one fine-tuning seed, e.g. --seeds 0 1 2")
        if not self.init.pretrained:
            raise ConfigError(
                f"init={self.init!r}: the quickstart compares a pretrained encoder with scratch; give a shipped "
                "encoder's name (python -m ssl_waveform.zoo) or an encoder folder"
            )


def _pretrained_init(args: QuickstartArgs, runs: Path, out: Path) -> tuple[Init, str, str]:
    """The pretrained init to compare with scratch, its name in the table and run folders, and a line saying
    where it came from."""
    if args.pretrain == "none":
        folder = Path(str(args.init))
        # a pretraining run's ".../NAME/encoder" folder is known by NAME
        name = (
            folder.parent.name if folder.name == "encoder" and folder.parent.name else folder.name
        )
        return args.init, name, f"pretrained encoder: {args.init} (no pretraining in this run)"
    unlabeled = builtin_unlabeled_corpus(runs, args.unlabeled_windows, seed=0)
    cls = MAEConfig if args.pretrain == "mae" else SimCLRConfig
    cfg = cls(data=str(unlabeled), runs=str(runs), run_dir=str(out / f"pretrain_{args.pretrain}"))
    cfg.encoder = dataclasses.replace(
        cfg.encoder, name=args.encoder, representation=args.representation
    )
    cfg.engine = dataclasses.replace(cfg.engine, epochs=args.pretrain_epochs)
    t0 = time.time()
    result = pretrain_mae(cfg) if isinstance(cfg, MAEConfig) else pretrain_simclr(cfg)
    line = (
        f"{args.pretrain} pretraining: {result.steps} steps on {unlabeled} in {time.time() - t0:.0f} s "
        f"(last epoch loss {result.loss})"
    )
    return Init("folder", str(Path(cfg.run_dir) / "encoder")), f"{args.pretrain}_pretrained", line


def main(argv: list[str] | None = None) -> int:
    args = parse(QuickstartArgs, argv, prog="ssl-waveform quickstart", description=__doc__)
    start = time.time()
    runs = Path(args.runs)
    out = runs / "quickstart"
    labeled = builtin_labeled_corpus(runs, args.labeled_windows, seed=1)
    init, init_name, pretrained_line = _pretrained_init(args, runs, out)
    inits = {init_name: init, "scratch": SCRATCH}
    runs_by_init: dict[str, list[dict]] = {name: [] for name in inits}
    for seed in args.seeds:
        for name, init in inits.items():
            cfg = FinetuneConfig(
                data=str(labeled),
                runs=str(runs),
                # the settings that change a run are in its folder's name: a rerun with others starts fresh
                run_dir=str(
                    out
                    / f"finetune_{name}_b{args.labels_per_class}_e{args.finetune_epochs}_s{seed}"
                ),
                init=init,
                encoder=args.encoder,
                representation=args.representation,
                labels_per_class=args.labels_per_class,
                subset_seed=seed,
                select="last",
                val_fraction=0.0,
            )
            cfg.engine = dataclasses.replace(cfg.engine, epochs=args.finetune_epochs, seed=seed)
            runs_by_init[name].append(finetune(cfg).metrics)

    lines = [
        f"| init | test accuracy (mean ± sd, {len(args.seeds)} seeds) | test macro-F1 | per seed "
        "| labeled windows | fine-tune time per seed |",
        "|---|---|---|---|---|---|",
    ]
    for name, ms in runs_by_init.items():
        acc = [m["accuracy"] for m in ms]
        f1 = [m["macro_f1"] for m in ms]
        lines.append(
            f"| {name} | {mean_sd(acc)} | {mean_sd(f1)} | {' / '.join(f'{a:.3f}' for a in acc)} "
            f"| {ms[0]['num_train_windows']} | {statistics.mean(m['wall_time_s'] for m in ms):.0f} s |"
        )
    gains = [a["accuracy"] - b["accuracy"] for a, b in zip(*runs_by_init.values())]
    summary = (
        f"{pretrained_line}\n"
        f"fine-tuning: {args.labels_per_class} labeled windows per class from {labeled}, "
        f"{args.finetune_epochs} epochs (last epoch kept), test set of "
        f"{runs_by_init['scratch'][0]['num_test_windows']} windows\n\n" + "\n".join(lines) + "\n\n"
        f"pretrained - scratch, paired by seed: {mean_sd(gains, signed=True)}\n"
        f"total wall time {time.time() - start:.0f} s\n"
    )
    print("\n" + summary)
    atomic_write_text(out / "summary.md", summary)
    atomic_write_json(out / "summary.json", runs_by_init, default=str)
    return 0
