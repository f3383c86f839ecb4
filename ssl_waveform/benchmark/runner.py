"""Run the benchmark grid: pretrain once per (method, encoder, representation), then every cell.

A *cell* is one (evaluation mode, initialisation, encoder, representation, label budget, seed); its rows (one per
test set and metric) are written atomically to ``cells/<cell>.json`` when it finishes, so an interrupted run
resumes where it stopped and finished cells are never recomputed. ``results.csv`` and ``report.md`` are rebuilt
from the cell files at the end.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ssl_waveform.benchmark.baselines import fft_features, knn_predict, logistic_regression
from ssl_waveform.benchmark.datasets import (
    add_noise,
    itsc_corpus,
    itsc_pretraining_corpus,
    sim_corpus,
    sim_corpus_like_itsc,
)
from ssl_waveform.benchmark.presets import PRESETS, Axis, Preset
from ssl_waveform.data import Corpus
from ssl_waveform.engine import read_log
from ssl_waveform.evaluation import classification_metrics

CLASSICAL = "classical"
IMAGENET_NOT_RUN = "not run: no ImageNet weights available"
IMAGENET_HELP = (
    f"{IMAGENET_NOT_RUN}. Provide them with --imagenet-weights PATH (a timm ConvNeXt checkpoint, "
    ".safetensors or .pth) or put timm's weights in the local Hugging Face cache"
)


@dataclass
class BenchmarkConfig:
    """What ``python -m ssl_waveform.benchmark`` runs.

    Attributes:
        preset: ``smoke``, ``cpu`` or ``gpu`` (see ``presets.py``).
        out: results folder (default ``<runs>/benchmark_<preset>``).
        runs: runs root.
        imagenet_weights: local ImageNet checkpoint for the ImageNet rows; None tries timm's hub cache.
        external_data: folder holding ``ITSC/`` (real data); empty = ``../shared/external_data`` when present.
        seeds: override the preset's seeds (empty = preset's).
        cells: run only the planned cells whose name matches one of these shell patterns (e.g.
            ``finetune-*-b5-*``); empty = all. Finished cells always enter the report, which counts the whole plan.
    """

    preset: str = "smoke"
    out: str = ""
    runs: str = "runs"
    imagenet_weights: str | None = None
    external_data: str = ""
    seeds: list[int] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)


# the real-data cells' split: by recording, 3 training, 1 validation and 1 test recording of each class's 5
ITSC_SPLIT = {"val_fraction": 0.2, "test_fraction": 0.2, "seed": 0}
REAL_INITS = {"mae-real": "real", "mae-sim": "sim"}


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=float) + "\n")
    os.replace(tmp, path)


def _budget_name(budget: int) -> str:
    return "all" if budget == 0 else str(budget)


class Benchmark:
    """State of one benchmark run (paths, corpora, test sets, pretrained encoders)."""

    def __init__(self, cfg: BenchmarkConfig) -> None:
        if cfg.preset not in PRESETS:
            raise KeyError(f"unknown preset {cfg.preset!r}; valid presets: {sorted(PRESETS)}")
        self.cfg = cfg
        self.preset: Preset = PRESETS[cfg.preset]
        self.seeds = list(cfg.seeds) or list(self.preset.seeds)
        self.out = Path(cfg.out or Path(cfg.runs) / f"benchmark_{cfg.preset}")
        self.cells_dir = self.out / "cells"
        ext = Path(cfg.external_data) if cfg.external_data else Path("../shared/external_data")
        self.external_data = ext if ext.is_dir() else None
        self.imagenet_status: dict[str, str] = {}
        self.progress = (0, 0)

    # ------------------------------------------------------------------ data
    def prepare_data(self) -> None:
        p = self.preset
        self.unlabeled = sim_corpus(self.out, "unlabeled", p)
        self.labeled = sim_corpus(self.out, "labeled", p)
        self.tests: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for kind in ("in_dist", "op_shift", "closed_loop"):
            c = Corpus(sim_corpus(self.out, kind, p))
            self.tests[kind] = (c.read(np.arange(c.num_windows)), c.labels())
        x, y = self.tests["in_dist"]
        self.noise_tests = {
            f"noise_{snr:g}dB": (add_noise(x, snr, seed=int(snr)), y) for snr in p.snr_db
        }
        self.itsc = itsc_corpus(self.out, self.external_data, p)
        self.class_names = list(Corpus(self.labeled).class_names or [])

    # ------------------------------------------------------------------ encoders
    def imagenet_available(self, axis: Axis) -> bool:
        """Try building an ImageNet-initialised encoder once per backbone; remember why it failed."""
        from ssl_waveform.models import ImageNetWeightsError, create_encoder

        if axis.encoder not in self.imagenet_status:
            try:
                create_encoder(
                    axis.encoder,
                    axis.representation,
                    3,
                    init="imagenet",
                    imagenet_weights=self.imagenet_weights(axis),
                    image_size=self.preset.image_size if axis.representation != "raw" else None,
                )
                self.imagenet_status[axis.encoder] = "ok"
            except (ImageNetWeightsError, FileNotFoundError, KeyError, ValueError) as err:
                first = str(err).split(". ")[0]
                self.imagenet_status[axis.encoder] = (
                    f"{IMAGENET_HELP} ({type(err).__name__}: {first})"
                )
        return self.imagenet_status[axis.encoder] == "ok"

    def imagenet_weights(self, axis: Axis) -> str | None:
        """``--imagenet-weights`` for the ConvNeXt axes; a backbone whose weights ship in a package uses those."""
        from ssl_waveform.models import PACKAGED_IMAGENET, resolve_encoder_name

        if resolve_encoder_name(axis.encoder) in PACKAGED_IMAGENET:
            return None
        return self.cfg.imagenet_weights

    def pretrained(self, method: str, axis: Axis) -> Path:
        """Encoder folder of ``method`` for this axis, pretraining it first if needed (resumable)."""
        run_dir = self.out / "pretrain" / f"{method}-{axis.encoder}-{axis.representation}"
        epochs = axis.pretrain_epochs.get(method, self.preset.pretrain_epochs)
        return self._pretrain(
            method, axis, self.unlabeled, run_dir, epochs, self.preset.pretrain_batch
        )

    def pretrained_real(self, init: str, axis: Axis) -> Path:
        """MAE encoder of a real-data init: on the ITSC recordings outside the test split (``mae-real``) or on
        simulated windows at their rate and length (``mae-sim``, as many optimizer steps)."""
        real = self.preset.real
        assert self.itsc is not None
        recordings = itsc_pretraining_corpus(self.out, self.itsc, ITSC_SPLIT)
        epochs = real.pretrain_epochs
        data = recordings
        if init == "mae-sim":
            data = sim_corpus_like_itsc(self.out, real.sim_windows, self.preset)
            epochs = max(
                1, round(epochs * Corpus(recordings).num_windows / Corpus(data).num_windows)
            )
        run_dir = self.out / "pretrain" / f"{init}-itsc-{axis.encoder}-{axis.representation}"
        return self._pretrain(
            "mae",
            axis,
            data,
            run_dir,
            epochs,
            batch=32,
            name=init,
            standardize=real.standardize_input,
        )

    def _pretrain(
        self, method: str, axis: Axis, data: Path, run_dir: Path, epochs: int, batch: int,
        name: str = "", standardize: bool = False,
    ) -> Path:  # fmt: skip
        from ssl_waveform.pretrain import MAEConfig, SimCLRConfig, pretrain_mae, pretrain_simclr

        encoder_dir = run_dir / "encoder"
        cost_file = run_dir / "cost.json"
        if encoder_dir.is_dir() and cost_file.is_file():
            return encoder_dir
        cfg: Any = MAEConfig() if method == "mae" else SimCLRConfig()
        cfg.data, cfg.run_dir, cfg.runs = str(data), str(run_dir), self.cfg.runs
        cfg.encoder.name, cfg.encoder.representation = axis.encoder, axis.representation
        cfg.encoder.image_size = self.preset.image_size
        cfg.encoder.standardize_input = standardize
        cfg.engine = dataclasses.replace(
            cfg.engine,
            epochs=epochs,
            batch_size=batch,
            warmup_epochs=0.2 * epochs
            if epochs <= 20
            else 0.1 * epochs,  # short runs keep a real cosine decay
            seed=0,
        )
        result = (pretrain_mae if method == "mae" else pretrain_simclr)(cfg)
        log = read_log(run_dir)
        _write_json(
            cost_file,
            {
                "method": name or method,
                "encoder": axis.encoder,
                "representation": axis.representation,
                "steps": result.steps,
                "epochs": len(log),
                "wall_time_s": sum(r["wall_time_s"] for r in log),
                "samples_per_s": _samples_per_s(log),
                "unlabeled_windows": Corpus(data).num_windows,
                "final_loss": log[-1]["loss"] if log else None,
            },
        )
        return encoder_dir

    def init_for(self, init: str, axis: Axis) -> str:
        if init in REAL_INITS:
            return str(self.pretrained_real(init, axis))
        if init in ("mae", "simclr"):
            return str(self.pretrained(init, axis))
        return init

    # ------------------------------------------------------------------ cells
    def _rows(self, base: dict[str, Any], metrics_by_test: dict[str, dict[str, Any]]) -> list[dict]:
        rows = []
        for test_set, m in metrics_by_test.items():
            for metric in ("accuracy", "macro_f1"):
                rows.append({**base, "test_set": test_set, "metric": metric, "value": m[metric]})
        return rows

    def _test_sets(
        self, budget: int, include_noise: bool = True
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        sets = dict(self.tests)
        if include_noise and budget == self.preset.noise_budget:
            sets.update(self.noise_tests)
        return sets

    def _finetune_cfg(
        self, axis: Axis, init: str, budget: int, seed: int, mode: str, data: Path, run_dir: Path
    ):
        from ssl_waveform.finetune import FinetuneConfig

        p = self.preset
        cfg = FinetuneConfig(
            data=str(data),
            runs=self.cfg.runs,
            run_dir=str(run_dir),
            init=init,
            imagenet_weights=self.imagenet_weights(axis),
            encoder=axis.encoder,
            representation=axis.representation,
            image_size=p.image_size,
            labels_per_class=budget or None,
            subset_seed=seed,
            mode="probe" if mode == "probe" else "full",
            select="last",  # fixed schedule: no labeled validation data picks the epoch (budget stays honest)
            adapt_sample_rate=True,
            min_batches_per_epoch=p.min_batches_per_epoch,
        )
        cfg.engine = dataclasses.replace(
            cfg.engine, epochs=p.finetune_epochs, batch_size=p.finetune_batch, seed=seed
        )
        return cfg

    def run_finetune_cell(
        self, axis: Axis, init: str, budget: int, seed: int, mode: str
    ) -> list[dict]:
        from ssl_waveform.finetune import finetune, last_stretch
        from ssl_waveform.methods.classify import load_classifier

        cell = f"{mode}-{init}-{axis.encoder}-{axis.representation}-b{_budget_name(budget)}-s{seed}"
        run_dir = self.out / "runs" / cell
        cfg = self._finetune_cfg(
            axis, self.init_for(init, axis), budget, seed, mode, self.labeled, run_dir
        )
        cfg.test_fraction, cfg.val_fraction = 0.0, 0.2
        result = finetune(cfg)
        model = load_classifier(result.classifier_dir)
        metrics = {}
        for name, (x, y) in self._test_sets(budget).items():
            metrics[name] = classification_metrics(
                y,
                model.predict_windows(last_stretch(x, int(model.encoder.config["window"]))).argmax(
                    1
                ),
                model.class_names,
            )
        base = self._base(axis, init, budget, seed, mode, result.metrics["wall_time_s"], run_dir)
        base["train_samples_per_s"] = _train_rate(run_dir)
        return self._rows(base, metrics) + self._confusion(base, metrics)

    def run_itsc_cell(self, axis: Axis, init: str, budget: int, seed: int) -> list[dict]:
        from ssl_waveform.finetune import finetune

        cell = f"itsc-{init}-{axis.encoder}-{axis.representation}-b{_budget_name(budget)}-s{seed}"
        run_dir = self.out / "runs" / cell
        assert self.itsc is not None
        cfg = self._finetune_cfg(
            axis, self.init_for(init, axis), budget, seed, "finetune", self.itsc, run_dir
        )
        self._itsc_settings(cfg)
        result = finetune(cfg)
        base = self._base(
            axis, init, budget, seed, "finetune", result.metrics["wall_time_s"], run_dir
        )
        base["train_samples_per_s"] = _train_rate(run_dir)
        return self._rows(base, {"itsc_real": result.metrics})

    def _itsc_settings(self, cfg: Any) -> None:
        real = self.preset.real
        cfg.val_fraction, cfg.test_fraction = (
            ITSC_SPLIT["val_fraction"],
            ITSC_SPLIT["test_fraction"],
        )
        cfg.split_seed = int(ITSC_SPLIT["seed"])
        cfg.augment = real.augment
        cfg.standardize_input = real.standardize_input
        cfg.engine = dataclasses.replace(cfg.engine, epochs=real.finetune_epochs)

    def run_itsc_classical_cell(self, budget: int, seed: int) -> list[dict]:
        """The classical floor on the real data: same recording-wise split and labeled subset as the
        fine-tuning cells of this budget and seed (is the task learnable at all from these labels?)."""
        from ssl_waveform.finetune.run import _prepare_data

        start = time.time()
        assert self.itsc is not None
        cfg = self._finetune_cfg(
            self.preset.axes[0], "scratch", budget, seed, "finetune", self.itsc, self.out
        )
        self._itsc_settings(cfg)
        corpus = Corpus(self.itsc)
        splits, train_idx, labels = _prepare_data(cfg, corpus)
        tests = {"itsc_real": (corpus.read(splits.test), labels[splits.test])}
        return self._classical_rows(
            corpus.read(train_idx), labels[train_idx], tests, list(corpus.class_names or []),
            budget, seed, start,
        )  # fmt: skip

    def _train_subset(self, budget: int, seed: int) -> tuple[Corpus, np.ndarray, np.ndarray]:
        """The labeled pool, its labels and the training windows a fine-tuning cell with this budget and seed
        would use (the same 80/20 split with split seed 0 and the same subset draw as ``finetune``)."""
        from ssl_waveform.finetune import labeled_subset, stratified_split

        corpus = Corpus(self.labeled)
        labels = corpus.labels()
        split = stratified_split(labels, val_fraction=0.2, test_fraction=0.0, seed=0)
        return (
            corpus,
            labels,
            labeled_subset(split.train, labels, per_class=budget or None, seed=seed),
        )

    def run_knn_cell(self, axis: Axis, init: str, budget: int, seed: int) -> list[dict]:
        from ssl_waveform.finetune import build_encoder_for_finetune

        init_path = self.init_for(init, axis)  # may pretrain first: not part of this cell's time
        start = time.time()
        corpus, labels, idx = self._train_subset(budget, seed)
        cfg = self._finetune_cfg(axis, init_path, budget, seed, "knn", self.labeled, self.out)
        cfg.drop_path = 0.0
        encoder = build_encoder_for_finetune(cfg, corpus, cfg.init)
        encoder.eval()
        train_emb = encoder.embed(corpus.read(idx), corpus.sample_rate)
        metrics = {}
        for name, (x, y) in self._test_sets(budget).items():
            pred = knn_predict(train_emb, labels[idx], encoder.embed(x, corpus.sample_rate))
            metrics[name] = classification_metrics(y, pred, self.class_names)
        base = self._base(axis, init, budget, seed, "knn", time.time() - start, None)
        return self._rows(base, metrics)

    def run_classical_cell(self, budget: int, seed: int) -> list[dict]:
        start = time.time()
        corpus, labels, idx = self._train_subset(budget, seed)
        return self._classical_rows(
            corpus.read(idx),
            labels[idx],
            self._test_sets(budget),
            self.class_names,
            budget,
            seed,
            start,
        )

    def _classical_rows(
        self,
        train_x: np.ndarray,
        train_y: np.ndarray,
        tests: dict[str, tuple[np.ndarray, np.ndarray]],
        class_names: list[str],
        budget: int,
        seed: int,
        start: float,
    ) -> list[dict]:
        """FFT features + logistic regression trained on ``train_x`` and scored on every test set."""
        train_f = fft_features(train_x)
        metrics = {}
        for name, (x, y) in tests.items():
            pred = logistic_regression(train_f, train_y, fft_features(x), len(class_names))
            metrics[name] = classification_metrics(y, pred, class_names)
        axis = Axis("-", "fft-features", [], [], [])
        base = self._base(axis, CLASSICAL, budget, seed, "logreg", time.time() - start, None)
        return self._rows(base, metrics)

    def _base(
        self, axis: Axis, init: str, budget: int, seed: int, mode: str, wall: float, run_dir
    ) -> dict:
        return {
            "init": init,
            "representation": axis.representation,
            "encoder": axis.encoder,
            "mode": mode,
            "label_budget": _budget_name(budget),
            "seed": seed,
            "wall_time_s": round(float(wall), 2),
            "run_dir": str(run_dir) if run_dir else "",
        }

    def _confusion(self, base: dict, metrics: dict[str, dict]) -> list[dict]:
        m = metrics["in_dist"]
        return [
            {
                **base,
                "test_set": "in_dist",
                "metric": "confusion_matrix",
                "value": m["confusion_matrix"],
            }
        ]

    def cell(self, name: str, fn, *args) -> list[dict]:
        """Run one cell unless its result file exists; return its rows."""
        path = self.cells_dir / f"{name}.json"
        if path.is_file():
            return json.loads(path.read_text())
        print(f"[benchmark] cell {name}")
        rows = fn(*args)
        _write_json(path, rows)
        return rows

    # ------------------------------------------------------------------ grid
    def plan(self) -> list[tuple[str, Any, tuple]]:
        """Every cell of the preset, in run order (primary axis first, cheapest modes first)."""
        cells: list[tuple[str, Any, tuple]] = []
        for budget in self.preset.axes[0].budgets:
            for seed in self.seeds:
                cells.append(
                    (
                        f"logreg-{CLASSICAL}-b{_budget_name(budget)}-s{seed}",
                        self.run_classical_cell,
                        (budget, seed),
                    )
                )
        for axis in self.preset.axes:
            for mode in axis.modes:
                for budget in axis.budgets_of(mode):
                    for init in axis.inits:
                        for seed in self.seeds:
                            name = f"{mode}-{init}-{axis.encoder}-{axis.representation}-b{_budget_name(budget)}-s{seed}"
                            if mode == "knn":
                                cells.append((name, self.run_knn_cell, (axis, init, budget, seed)))
                            else:
                                cells.append(
                                    (name, self.run_finetune_cell, (axis, init, budget, seed, mode))
                                )
        if self.itsc is not None:
            real = self.preset.real
            for init in real.inits:
                axis = real.axis(init)
                for budget in real.budgets:
                    for seed in self.seeds:
                        name = f"itsc-{init}-{axis.encoder}-{axis.representation}-b{_budget_name(budget)}-s{seed}"
                        cells.append((name, self.run_itsc_cell, (axis, init, budget, seed)))
            for budget in real.budgets:
                for seed in self.seeds:
                    name = f"logreg-{CLASSICAL}-itsc-b{_budget_name(budget)}-s{seed}"
                    cells.append((name, self.run_itsc_classical_cell, (budget, seed)))
        return sorted(cells, key=self._priority)

    def _priority(self, cell: tuple[str, Any, tuple]) -> int:
        """Run order: what a partial run should have first (stable within a rank).

        0: the classical floor; 1: fine-tuning on the primary axis at its first two budgets (in the cpu preset
        these hold the noise budget); 2: the first real-data budget; 3: primary-axis fine-tuning at the other
        labeled budgets and k-NN at all; 4: the secondary axes; 5: the other real-data budgets; 6: primary-axis
        fine-tuning with all labels; 7: the linear probe.
        """
        _, fn, args = cell
        primary = self.preset.axes[0]
        if fn in (self.run_classical_cell, self.run_itsc_classical_cell):
            return 0
        if fn == self.run_itsc_cell:
            return 2 if args[2] == self.preset.real.budgets[0] else 5
        axis, budget, mode = args[0], args[2], "knn" if fn == self.run_knn_cell else args[4]
        if axis is not primary:
            return 4
        if mode == "probe":
            return 7
        if mode == "knn":
            return 3
        if budget in primary.budgets[:2]:
            return 1
        return 6 if budget == 0 else 3

    def skipped(self, name: str, args: tuple) -> str | None:
        """Why a planned cell is not run (ImageNet weights missing), or None."""
        axis = args[0] if args and isinstance(args[0], Axis) else None
        if axis is not None and "-imagenet-" in f"-{name}-" and not self.imagenet_available(axis):
            return self.imagenet_status[axis.encoder]
        return None


def _samples_per_s(log: list[dict[str, Any]]) -> float:
    """Time-weighted throughput over the epoch records of a run (every resumed invocation)."""
    wall = sum(r["wall_time_s"] for r in log)
    return sum(r["samples_per_s"] * r["wall_time_s"] for r in log) / max(wall, 1e-9)


def _train_rate(run_dir: Path) -> float | None:
    log = read_log(run_dir)
    return _samples_per_s(log) if log else None


def run_benchmark(cfg: BenchmarkConfig, report_only: bool = False) -> Path:
    """Run (or resume) the whole benchmark; returns the results folder with results.csv and report.md.

    With ``report_only`` no new cell is run: the report is rebuilt from the cells finished so far and says how
    many of the planned cells that is. ``cfg.cells`` limits which new cells run in the same way.
    """
    from ssl_waveform.benchmark.report import write_report

    start = time.time()
    bench = Benchmark(cfg)
    bench.out.mkdir(parents=True, exist_ok=True)
    bench.prepare_data()
    rows: list[dict] = []
    not_run: list[dict] = []
    plan = bench.plan()
    runnable: list[str] = []
    for name, fn, args in plan:
        reason = bench.skipped(name, args)
        if reason is None:
            runnable.append(name)
        selected = not cfg.cells or any(fnmatch.fnmatchcase(name, pat) for pat in cfg.cells)
        if (
            reason is None
            and (report_only or not selected)
            and not (bench.cells_dir / f"{name}.json").is_file()
        ):
            continue
        if reason is not None:
            axis = args[0]
            not_run.append(
                {
                    "cell": name,
                    "init": "imagenet",
                    "encoder": axis.encoder,
                    "representation": axis.representation,
                    "reason": reason,
                }
            )
            continue
        rows.extend(bench.cell(name, fn, *args))
    bench.progress = (  # counted after the run: the report says what is finished now
        sum((bench.cells_dir / f"{n}.json").is_file() for n in runnable),
        len(runnable),
    )
    wanted = {  # pretrained encoders of this preset's grid (not others left in the folder)
        f"{init}-{a.encoder}-{a.representation}"
        for a in bench.preset.axes
        for init in a.inits
        if init in ("mae", "simclr")
    }
    if bench.itsc is not None:
        real = bench.preset.real
        wanted |= {
            f"{i}-itsc-{real.encoder}-{real.representation}" for i in real.inits if i in REAL_INITS
        }
    costs = [
        json.loads(p.read_text())
        for p in sorted((bench.out / "pretrain").glob("*/cost.json"))
        if p.parent.name in wanted
    ]
    write_report(bench, rows, not_run, costs, time.time() - start)
    return bench.out
