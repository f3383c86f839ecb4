"""Run the benchmark grid: pretrain once per (method, encoder, representation), then every cell.

A *cell* (:class:`Cell`) is one (evaluation kind, initialisation, encoder, representation, label budget, seed); its
rows (one per test set and metric) are written atomically to ``cells/<cell.name>.json`` when it finishes, so an
interrupted run resumes where it stopped and finished cells are never recomputed. ``results.csv`` and ``report.md``
are rebuilt from the cell files at the end.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np

from ssl_waveform._atomic import atomic_write_json
from ssl_waveform.benchmark.baselines import fft_features, knn_predict, logistic_regression
from ssl_waveform.benchmark.datasets import (
    add_noise,
    itsc_corpus,
    itsc_pretraining_corpus,
    sim_corpus,
    sim_corpus_like_itsc,
)
from ssl_waveform.benchmark.presets import PRESETS, Axis, Preset, PresetName
from ssl_waveform.data import Corpus
from ssl_waveform.engine import read_log
from ssl_waveform.evaluation import classification_metrics
from ssl_waveform.identity import Init
from ssl_waveform.transforms import RepresentationName

if TYPE_CHECKING:
    from ssl_waveform.finetune import Splits

CLASSICAL = "classical"
# the (encoder, representation) columns of the classical floor's rows
CLASSICAL_AXIS = Axis("-", "fft-features", [], [], [])
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

    preset: PresetName = "smoke"
    out: str = ""
    runs: str = "runs"
    imagenet_weights: str | None = None
    external_data: str = ""
    seeds: list[int] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)


# the simulated cells' split of the labeled pool: 80/20 train/validation, no test part (the test sets are separate)
SIM_SPLIT = {"val_fraction": 0.2, "test_fraction": 0.0, "seed": 0}
# the real-data cells' split: by recording, 3 training, 1 validation and 1 test recording of each class's 5
ITSC_SPLIT = {"val_fraction": 0.2, "test_fraction": 0.2, "seed": 0}
REAL_INITS = {"mae-real": "real", "mae-sim": "sim"}

CellKind = Literal["finetune", "probe", "knn", "logreg", "itsc", "itsc-logreg"]
# the kind of a cell of each evaluation mode an ``Axis`` lists
SIM_KINDS: dict[str, CellKind] = {"finetune": "finetune", "probe": "probe", "knn": "knn"}


@dataclass(frozen=True)
class Cell:
    """One cell of the benchmark grid.

    Attributes:
        kind: ``finetune`` / ``probe`` (fine-tuning the whole encoder / a linear probe on the simulated data),
            ``knn`` (k-NN on frozen embeddings), ``logreg`` (the classical floor: FFT features + logistic
            regression), ``itsc`` (fine-tuning on the real ITSC recordings), ``itsc-logreg`` (the classical floor
            on them).
        init: initialisation (``classical`` for the two floors).
        axis: encoder and representation (``CLASSICAL_AXIS`` for the two floors).
        budget: labels per class (0 = all labeled training windows).
        seed: draws the labeled subset and seeds the run.
        preset: the preset the cell belongs to; its run order depends on the preset's primary axis and real-data
            budgets.
    """

    kind: CellKind
    init: str
    axis: Axis
    budget: int
    seed: int
    preset: Preset = field(repr=False, compare=False)

    @property
    def name(self) -> str:
        """The one place a cell's name is made: its result file is ``cells/<name>.json`` and its run folder
        ``runs/<name>``. Names of finished cells must never change: they are how a resumed run finds them."""
        tail = f"b{_budget_name(self.budget)}-s{self.seed}"
        if self.kind == "logreg":
            return f"logreg-{CLASSICAL}-{tail}"
        if self.kind == "itsc-logreg":
            return f"logreg-{CLASSICAL}-itsc-{tail}"
        return f"{self.kind}-{self.init}-{self.axis.encoder}-{self.axis.representation}-{tail}"

    @property
    def mode(self) -> str:
        """The ``mode`` column of the cell's rows: the evaluation (``finetune``, ``probe``, ``knn``, ``logreg``)."""
        if self.kind in ("logreg", "itsc-logreg"):
            return "logreg"
        return "finetune" if self.kind == "itsc" else self.kind

    @property
    def priority(self) -> int:
        """Run order: what a partial run should have first (``plan`` sorts stably by it).

        0: the classical floors; 1: fine-tuning on the primary axis at its first two budgets (in the cpu preset
        these hold the noise budget); 2: the first real-data budget; 3: primary-axis fine-tuning at the other
        labeled budgets and k-NN at all; 4: the secondary axes; 5: the other real-data budgets; 6: primary-axis
        fine-tuning with all labels; 7: the linear probe.
        """
        if self.kind in ("logreg", "itsc-logreg"):
            return 0
        if self.kind == "itsc":
            return 2 if self.budget == self.preset.real.budgets[0] else 5
        primary = self.preset.axes[0]
        if self.axis is not primary:
            return 4
        if self.kind == "probe":
            return 7
        if self.kind == "knn":
            return 3
        if self.budget in primary.budgets[:2]:
            return 1
        return 6 if self.budget == 0 else 3


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, data, indent=1, default=float)


def _budget_name(budget: int) -> str:
    return "all" if budget == 0 else str(budget)


def _pretrain_name(method: str, axis: Axis) -> str:
    """Folder under ``pretrain/`` of a method's encoder pretrained on the simulated corpus."""
    return f"{method}-{axis.encoder}-{axis.representation}"


def _real_pretrain_name(init: str, axis: Axis) -> str:
    """Folder under ``pretrain/`` of a real-data init's MAE encoder (``mae-real``, ``mae-sim``)."""
    return f"{init}-itsc-{axis.encoder}-{axis.representation}"


def _train_subset(
    corpus: Corpus, split: dict[str, float], budget: int, seed: int
) -> tuple[Splits, np.ndarray, np.ndarray]:
    """Fine-tuning's split of a labeled corpus, its labels and the training windows a fine-tuning cell with this
    budget and seed uses (``split_corpus`` and ``labeled_subset``, exactly as ``finetune`` calls them)."""
    from ssl_waveform.finetune import labeled_subset, split_corpus

    splits = split_corpus(
        corpus,
        val_fraction=split["val_fraction"],
        test_fraction=split["test_fraction"],
        seed=int(split["seed"]),
    )
    labels = corpus.labels()
    return splits, labels, labeled_subset(splits.train, labels, per_class=budget or None, seed=seed)


def _set_split(cfg: Any, split: dict[str, float]) -> None:
    """Give a ``FinetuneConfig`` the split of ``split`` (``SIM_SPLIT`` or ``ITSC_SPLIT``)."""
    cfg.val_fraction, cfg.test_fraction = split["val_fraction"], split["test_fraction"]
    cfg.split_seed = int(split["seed"])


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
        run_dir = self.out / "pretrain" / _pretrain_name(method, axis)
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
        run_dir = self.out / "pretrain" / _real_pretrain_name(init, axis)
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
        _write_json(cost_file, _pretrain_cost(name or method, axis, result.steps, run_dir, data))
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

    def _finetune_cfg(self, cell: Cell, init: str, data: Path, run_dir: Path):
        """The ``FinetuneConfig`` of a cell that trains (``finetune``, ``probe``, ``itsc``) or embeds (``knn``)."""
        from ssl_waveform.finetune import FinetuneConfig

        p = self.preset
        cfg = FinetuneConfig(
            data=str(data),
            runs=self.cfg.runs,
            run_dir=str(run_dir),
            init=Init.parse(init),
            imagenet_weights=self.imagenet_weights(cell.axis),
            encoder=cell.axis.encoder,
            representation=cast(RepresentationName, cell.axis.representation),
            image_size=p.image_size,
            labels_per_class=cell.budget or None,
            subset_seed=cell.seed,
            mode="probe" if cell.kind == "probe" else "full",
            select="last",  # fixed schedule: no labeled validation data picks the epoch (budget stays honest)
            adapt_sample_rate=True,
            min_batches_per_epoch=p.min_batches_per_epoch,
        )
        cfg.engine = dataclasses.replace(
            cfg.engine, epochs=p.finetune_epochs, batch_size=p.finetune_batch, seed=cell.seed
        )
        return cfg

    def run_finetune_cell(self, cell: Cell) -> list[dict]:
        """Fine-tune (``finetune``) or linearly probe (``probe``) on the labeled pool; score every test set."""
        from ssl_waveform.finetune import finetune, last_stretch
        from ssl_waveform.methods.classify import load_classifier

        run_dir = self.out / "runs" / cell.name
        cfg = self._finetune_cfg(cell, self.init_for(cell.init, cell.axis), self.labeled, run_dir)
        _set_split(cfg, SIM_SPLIT)
        result = finetune(cfg)
        model = load_classifier(result.classifier_dir)
        window = int(model.encoder.config.window)
        metrics = {}
        for name, (x, y) in self._test_sets(cell.budget).items():
            pred = model.predict_windows(last_stretch(x, window)).argmax(1)
            metrics[name] = classification_metrics(y, pred, model.class_names)
        base = self._base(cell, result.metrics["wall_time_s"], run_dir)
        base["train_samples_per_s"] = _train_rate(run_dir)
        return self._rows(base, metrics) + self._confusion(base, metrics)

    def run_itsc_cell(self, cell: Cell) -> list[dict]:
        """Fine-tune on the real recordings' training split; score the held-out test recordings."""
        from ssl_waveform.finetune import finetune

        run_dir = self.out / "runs" / cell.name
        assert self.itsc is not None
        cfg = self._finetune_cfg(cell, self.init_for(cell.init, cell.axis), self.itsc, run_dir)
        self._itsc_settings(cfg)
        result = finetune(cfg)
        base = self._base(cell, result.metrics["wall_time_s"], run_dir)
        base["train_samples_per_s"] = _train_rate(run_dir)
        return self._rows(base, {"itsc_real": result.metrics})

    def _itsc_settings(self, cfg: Any) -> None:
        real = self.preset.real
        _set_split(cfg, ITSC_SPLIT)
        cfg.augment = real.augment
        cfg.standardize_input = real.standardize_input
        cfg.engine = dataclasses.replace(cfg.engine, epochs=real.finetune_epochs)

    def run_itsc_classical_cell(self, cell: Cell) -> list[dict]:
        """The classical floor on the real data: same recording-wise split and labeled subset as the
        fine-tuning cells of this budget and seed (is the task learnable at all from these labels?)."""
        start = time.time()
        assert self.itsc is not None
        corpus = Corpus(self.itsc)
        splits, labels, idx = _train_subset(corpus, ITSC_SPLIT, cell.budget, cell.seed)
        tests = {"itsc_real": (corpus.read(splits.test), labels[splits.test])}
        return self._classical_rows(
            cell, corpus.read(idx), labels[idx], tests, list(corpus.class_names or []), start
        )

    def run_knn_cell(self, cell: Cell) -> list[dict]:
        """k-NN on the frozen encoder's embeddings of the same labeled windows a fine-tuning cell would use."""
        from ssl_waveform.finetune import build_encoder_for_finetune

        init_path = self.init_for(cell.init, cell.axis)  # may pretrain first: not this cell's time
        start = time.time()
        corpus = Corpus(self.labeled)
        _, labels, idx = _train_subset(corpus, SIM_SPLIT, cell.budget, cell.seed)
        cfg = self._finetune_cfg(cell, init_path, self.labeled, self.out)
        cfg.drop_path = 0.0
        encoder = build_encoder_for_finetune(cfg, corpus, cfg.init)
        encoder.eval()
        train_emb = encoder.embed(corpus.read(idx), corpus.sample_rate)
        metrics = {}
        for name, (x, y) in self._test_sets(cell.budget).items():
            pred = knn_predict(train_emb, labels[idx], encoder.embed(x, corpus.sample_rate))
            metrics[name] = classification_metrics(y, pred, self.class_names)
        return self._rows(self._base(cell, time.time() - start, None), metrics)

    def run_classical_cell(self, cell: Cell) -> list[dict]:
        """The classical floor on the simulated data, trained on a fine-tuning cell's labeled windows."""
        start = time.time()
        corpus = Corpus(self.labeled)
        _, labels, idx = _train_subset(corpus, SIM_SPLIT, cell.budget, cell.seed)
        tests = self._test_sets(cell.budget)
        return self._classical_rows(
            cell, corpus.read(idx), labels[idx], tests, self.class_names, start
        )

    def _classical_rows(
        self,
        cell: Cell,
        train_x: np.ndarray,
        train_y: np.ndarray,
        tests: dict[str, tuple[np.ndarray, np.ndarray]],
        class_names: list[str],
        start: float,
    ) -> list[dict]:
        """FFT features + logistic regression trained on ``train_x`` and scored on every test set."""
        train_f = fft_features(train_x)
        metrics = {}
        for name, (x, y) in tests.items():
            pred = logistic_regression(train_f, train_y, fft_features(x), len(class_names))
            metrics[name] = classification_metrics(y, pred, class_names)
        return self._rows(self._base(cell, time.time() - start, None), metrics)

    def _base(self, cell: Cell, wall: float, run_dir: Path | None) -> dict:
        return {
            "init": cell.init,
            "representation": cell.axis.representation,
            "encoder": cell.axis.encoder,
            "mode": cell.mode,
            "label_budget": _budget_name(cell.budget),
            "seed": cell.seed,
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

    def run_cell(self, cell: Cell) -> list[dict]:
        """Run one cell (whether or not its result file exists) and return its rows."""
        runners = {
            "finetune": self.run_finetune_cell,
            "probe": self.run_finetune_cell,
            "knn": self.run_knn_cell,
            "logreg": self.run_classical_cell,
            "itsc": self.run_itsc_cell,
            "itsc-logreg": self.run_itsc_classical_cell,
        }
        return runners[cell.kind](cell)

    def cell_file(self, cell: Cell) -> Path:
        """Where a finished cell's rows are kept."""
        return self.cells_dir / f"{cell.name}.json"

    def cell_rows(self, cell: Cell) -> list[dict]:
        """Run one cell unless its result file exists; return its rows."""
        path = self.cell_file(cell)
        if path.is_file():
            return json.loads(path.read_text())
        print(f"[benchmark] cell {cell.name}")
        rows = self.run_cell(cell)
        _write_json(path, rows)
        return rows

    # ------------------------------------------------------------------ grid
    def plan(self) -> list[Cell]:
        """Every cell of the preset, in run order (``Cell.priority``; stable within a rank)."""
        cells = self._classical_cells() + self._sim_cells()
        if self.itsc is not None:
            cells += self._itsc_cells()
        return sorted(cells, key=lambda c: c.priority)

    def _classical_cells(self) -> list[Cell]:
        """The classical floor at every budget of the primary axis."""
        return [
            Cell("logreg", CLASSICAL, CLASSICAL_AXIS, budget, seed, self.preset)
            for budget in self.preset.axes[0].budgets
            for seed in self.seeds
        ]

    def _sim_cells(self) -> list[Cell]:
        """Every (axis, mode, budget, init, seed) of the simulated grid."""
        cells = []
        for axis in self.preset.axes:
            for mode in axis.modes:
                kind = _sim_kind(mode)
                for budget in axis.budgets_of(mode):
                    for init in axis.inits:
                        for seed in self.seeds:
                            cells.append(Cell(kind, init, axis, budget, seed, self.preset))
        return cells

    def _itsc_cells(self) -> list[Cell]:
        """The real-data cells: fine-tuning per (init, budget, seed), then the classical floor per (budget, seed)."""
        real = self.preset.real
        cells = [
            Cell("itsc", init, real.axis(init), budget, seed, self.preset)
            for init in real.inits
            for budget in real.budgets
            for seed in self.seeds
        ]
        cells += [
            Cell("itsc-logreg", CLASSICAL, CLASSICAL_AXIS, budget, seed, self.preset)
            for budget in real.budgets
            for seed in self.seeds
        ]
        return cells

    def skipped(self, cell: Cell) -> str | None:
        """Why a planned cell is not run (ImageNet weights missing), or None."""
        if cell.init == "imagenet" and not self.imagenet_available(cell.axis):
            return self.imagenet_status[cell.axis.encoder]
        return None

    def pretrain_costs(self) -> list[dict]:
        """``cost.json`` of this preset's pretrained encoders (not of others left in the folder)."""
        wanted = {
            _pretrain_name(init, a)
            for a in self.preset.axes
            for init in a.inits
            if init in ("mae", "simclr")
        }
        if self.itsc is not None:
            real = self.preset.real
            wanted |= {_real_pretrain_name(i, real.axis(i)) for i in real.inits if i in REAL_INITS}
        return [
            json.loads(p.read_text())
            for p in sorted((self.out / "pretrain").glob("*/cost.json"))
            if p.parent.name in wanted
        ]


def _sim_kind(mode: str) -> CellKind:
    """The cell kind of a simulated-data evaluation mode of an ``Axis``."""
    if mode not in SIM_KINDS:
        raise ValueError(f"unknown evaluation mode {mode!r}; valid modes: {sorted(SIM_KINDS)}")
    return SIM_KINDS[mode]


def _pretrain_cost(
    method: str, axis: Axis, steps: int, run_dir: Path, data: Path
) -> dict[str, Any]:
    """What a pretraining run cost, from its epoch log (every resumed invocation)."""
    log = read_log(run_dir)
    return {
        "method": method,
        "encoder": axis.encoder,
        "representation": axis.representation,
        "steps": steps,
        "epochs": len(log),
        "wall_time_s": sum(r["wall_time_s"] for r in log),
        "samples_per_s": _samples_per_s(log),
        "unlabeled_windows": Corpus(data).num_windows,
        "final_loss": log[-1]["loss"] if log else None,
    }


def _samples_per_s(log: list[dict[str, Any]]) -> float:
    """Time-weighted throughput over the epoch records of a run (every resumed invocation)."""
    wall = sum(r["wall_time_s"] for r in log)
    return sum(r["samples_per_s"] * r["wall_time_s"] for r in log) / max(wall, 1e-9)


def _train_rate(run_dir: Path) -> float | None:
    log = read_log(run_dir)
    return _samples_per_s(log) if log else None


def _run_plan(
    bench: Benchmark, plan: list[Cell], patterns: list[str], report_only: bool
) -> tuple[list[dict], list[dict]]:
    """Rows of the finished cells (running the selected unfinished ones) and the cells that cannot run."""
    rows: list[dict] = []
    not_run: list[dict] = []
    for cell in plan:
        reason = bench.skipped(cell)
        if reason is not None:
            not_run.append(
                {
                    "cell": cell.name,
                    "init": cell.init,
                    "encoder": cell.axis.encoder,
                    "representation": cell.axis.representation,
                    "reason": reason,
                }
            )
            continue
        selected = not patterns or any(fnmatch.fnmatchcase(cell.name, pat) for pat in patterns)
        if (report_only or not selected) and not bench.cell_file(cell).is_file():
            continue
        rows.extend(bench.cell_rows(cell))
    return rows, not_run


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
    plan = bench.plan()
    rows, not_run = _run_plan(bench, plan, cfg.cells, report_only)
    runnable = [c for c in plan if bench.skipped(c) is None]
    bench.progress = (  # counted after the run: the report says what is finished now
        sum(bench.cell_file(c).is_file() for c in runnable),
        len(runnable),
    )
    write_report(bench, rows, not_run, bench.pretrain_costs(), time.time() - start)
    return bench.out
