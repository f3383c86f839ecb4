"""``results.csv``, ``report.md`` and the plots of a benchmark run."""

from __future__ import annotations

import csv
import os
import platform
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from ssl_waveform._atomic import atomic_path, atomic_write_text
from ssl_waveform.evaluation import plot_confusion_matrix

CSV_FIELDS = [
    "init", "representation", "encoder", "mode", "label_budget", "seed", "test_set", "metric", "value",
    "wall_time_s", "train_samples_per_s", "run_dir",
]  # fmt: skip
INIT_ORDER = ["mae", "mae-real", "mae-sim", "simclr", "imagenet", "scratch", "classical"]
INIT_LABEL = {
    "mae": "MAE-pretrained",
    "mae-real": "MAE on the real recordings (test recordings left out)",
    "mae-sim": "MAE on simulated 1 kHz windows",
    "simclr": "SimCLR-pretrained",
    "imagenet": "ImageNet",
    "scratch": "scratch",
    "classical": "classical (FFT features + logistic regression)",
}
TEST_SETS = ["in_dist", "op_shift", "closed_loop", "itsc_real"]


def _budget_key(b: str) -> float:
    return float("inf") if b == "all" else float(b)


def _scalar_rows(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["metric"] in ("accuracy", "macro_f1")]


def write_csv(rows: list[dict], path: Path) -> None:
    with atomic_path(path) as tmp, tmp.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in _scalar_rows(rows):
            w.writerow({**r, "value": f"{float(r['value']):.6f}"})


def read_csv(path: Path) -> list[dict]:
    """Rows of a ``results.csv`` (values stay strings except ``value``)."""
    with Path(path).open(newline="") as fh:
        return [{**r, "value": float(r["value"])} for r in csv.DictReader(fh)]


def summary(rows: list[dict], encoder: str, representation: str) -> str:
    """The headline table: fine-tuned in-distribution accuracy by init x label budget on one axis."""
    table = _table(rows, "in_dist", "accuracy", (encoder, representation, "finetune"), [])
    head = f"in-distribution test accuracy, {encoder} / {representation}, fine-tuned (mean ± std over seeds):"
    return f"{head}\n{table}" if table else f"{head} no finished cells yet"


def _stats(values: list[float]) -> str:
    a = np.asarray(values, dtype=np.float64)
    std = a.std(ddof=1) if len(a) > 1 else 0.0
    return f"{a.mean():.3f} ± {std:.3f} (n={len(a)})"


def _table(
    rows: list[dict],
    test_set: str,
    metric: str,
    axis_key: tuple[str, str, str],
    not_run: list[dict],
) -> str:
    enc, rep, mode = axis_key
    cell: dict[tuple[str, str], list[float]] = defaultdict(list)
    picked = [r for r in rows if r["test_set"] == test_set and r["metric"] == metric]
    axis_rows = [
        r for r in picked if (r["encoder"], r["representation"], r["mode"]) == (enc, rep, mode)
    ]
    budgets = {r["label_budget"] for r in axis_rows}
    # the classical floor sits under the fine-tuning tables, at the budgets this axis ran
    floor = [
        r
        for r in picked
        if r["init"] == "classical" and mode == "finetune" and r["label_budget"] in budgets
    ]
    for r in axis_rows + floor:
        cell[(r["init"], r["label_budget"])].append(float(r["value"]))
    if not cell:
        return ""
    cols = sorted(budgets, key=_budget_key)
    lines = ["| init | " + " | ".join(f"{b}/class" if b != "all" else "all" for b in cols) + " |",
             "|---|" + "---|" * len(cols)]  # fmt: skip
    inits = sorted({i for i, _ in cell}, key=_init_rank)
    for init in inits:
        vals = [_stats(cell[(init, b)]) if (init, b) in cell else "–" for b in cols]
        lines.append(f"| {INIT_LABEL.get(init, init)} | " + " | ".join(vals) + " |")
    for nr in not_run:
        if (nr["encoder"], nr["representation"]) == (enc, rep) and "ImageNet" not in {
            row.split("|")[1].strip() for row in lines[2:]
        }:
            lines.append(
                "| ImageNet | not run: no ImageNet weights available (see 'Not run') |"
                + " |" * (len(cols) - 1)
            )
            break
    return "\n".join(lines)


def _real_data_section(rows: list[dict], not_run: list[dict], present: bool) -> list[str]:
    """Tables of the ITSC cells, one per (encoder, representation) they ran on, each with the classical floor."""
    if not present:
        return ["## Real data (ITSC)", "", "skipped: ../shared/external_data/ITSC not found", ""]
    lines = [
        "## Real data (ITSC)",
        "",
        "Test set: one held-out recording per class (13 classes, chance 0.077); labels from the 3 training "
        "recordings per class; split by recording.",
        "",
    ]
    axes = sorted({(r["encoder"], r["representation"]) for r in rows if r["test_set"] == "itsc_real"
                   and r["init"] != "classical"})  # fmt: skip
    for enc, rep in axes:
        for metric in ("accuracy", "macro_f1"):
            # only real-data cells' reasons: a simulated axis's missing ImageNet row is not this table's
            itsc_not_run = [nr for nr in not_run if nr["cell"].startswith("itsc-")]
            table = _table(rows, "itsc_real", metric, (enc, rep, "finetune"), itsc_not_run)
            if table:
                lines += [f"## itsc_real — {metric} — {enc} / {rep} / finetune", "", table, ""]
    return lines


def _cell_key(r: dict) -> tuple:
    """What identifies the cell a row came from (real-data cells share everything else with simulated ones)."""
    return (*_run_key(r), r["test_set"] == "itsc_real")


def _init_rank(init: str) -> int:
    return INIT_ORDER.index(init) if init in INIT_ORDER else 99


def _plot_series(
    data: dict[str, dict[float, list[float]]],
    path: Path,
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    log_x: bool = False,
) -> None:
    """One line per initialisation (mean over seeds) with a shaded +-1 std band; ``inf`` x plots at 3x the max."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    finite = [x for series in data.values() for x in series if np.isfinite(x)]
    x_inf = max(finite) * 3 if finite else 1.0
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for init, series in sorted(data.items(), key=lambda kv: _init_rank(kv[0])):
        xs = sorted(series)
        x_plot = [x if np.isfinite(x) else x_inf for x in xs]
        mean = np.array([np.mean(series[x]) for x in xs])
        std = np.array([np.std(series[x]) for x in xs])
        ax.plot(x_plot, mean, marker="o", label=INIT_LABEL.get(init, init))
        ax.fill_between(x_plot, mean - std, mean + std, alpha=0.2)
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_budget_curves(
    rows: list[dict], axis_key: tuple[str, str, str], test_set: str, path: Path
) -> None:
    enc, rep, mode = axis_key
    data: dict[str, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r["test_set"] != test_set or r["metric"] != "accuracy":
            continue
        if (r["encoder"], r["representation"], r["mode"]) == (enc, rep, mode) or (
            r["init"] == "classical" and test_set != "itsc_real"
        ):
            data[r["init"]][_budget_key(r["label_budget"])].append(float(r["value"]))
    if not any(np.isfinite(b) for d in data.values() for b in d):
        return
    _plot_series(
        data,
        path,
        xlabel="labeled windows per class (rightmost point: all)",
        ylabel=f"accuracy ({test_set})",
        title=f"{enc} / {rep} / {mode}",
        log_x=True,
    )


def _plot_noise(rows: list[dict], axis_key: tuple[str, str, str], budget: str, path: Path) -> bool:
    enc, rep, mode = axis_key
    data: dict[str, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r["metric"] != "accuracy" or r["label_budget"] != budget:
            continue
        if not (
            (r["encoder"], r["representation"], r["mode"]) == (enc, rep, mode)
            or r["init"] == "classical"
        ):
            continue
        if r["test_set"].startswith("noise_"):
            snr = float(r["test_set"][len("noise_") : -2])
        elif r["test_set"] == "in_dist":
            snr = 60.0  # plotted as "clean"
        else:
            continue
        data[r["init"]][snr].append(float(r["value"]))
    if not any(len(s) > 1 for s in data.values()):
        return False
    _plot_series(
        data,
        path,
        xlabel="sensor SNR (dB); 60 = clean test set",
        ylabel="accuracy (in-distribution test windows + noise)",
        title=f"noise robustness, {budget} labels/class, {enc} / {rep}",
    )
    return True


def _run_key(r: dict) -> tuple:
    """What identifies the run a row came from (init, encoder, representation, mode, budget, seed)."""
    return (r["init"], r["encoder"], r["representation"], r["mode"], r["label_budget"], r["seed"])


def _best_worst(rows: list[dict], bench: Any, out: Path) -> list[str]:
    """Plot the in-distribution confusion matrices of the worst and the best cell; their report lines."""
    acc = {
        _run_key(r): float(r["value"])
        for r in rows
        if r["metric"] == "accuracy" and r["test_set"] == "in_dist"
    }
    cms = [r for r in rows if r["metric"] == "confusion_matrix"]
    scored = [(acc.get(_run_key(r)), r) for r in cms]
    ranked = sorted(((a, r) for a, r in scored if a is not None), key=lambda t: t[0])
    if not ranked:
        return []
    lines = []
    for tag, (a, r) in (("worst", ranked[0]), ("best", ranked[-1])):
        name = f"confusion_{tag}.png"
        title = (f"{INIT_LABEL.get(r['init'], r['init'])}, {r['encoder']}/{r['representation']} "
                 f"{r['mode']}, {r['label_budget']}/class, seed {r['seed']}: acc {a:.3f}")  # fmt: skip
        plot_confusion_matrix(
            np.asarray(r["value"]), bench.class_names, out / name, title=f"{tag}: {title}"
        )
        lines.append(f"- {tag}: {title} — ![]({name})")
    return lines


def _header(bench: Any, per_cell: dict[tuple, dict], costs: list[dict], wall: float) -> list[str]:
    """Title, command, machine, compute, data and progress lines."""
    p = bench.preset
    cells_h = sum(float(r["wall_time_s"]) for r in per_cell.values()) / 3600
    pretrain_h = sum(c["wall_time_s"] for c in costs) / 3600
    weights = bench.cfg.imagenet_weights
    done, planned = bench.progress
    return [
        f"# Benchmark report — preset `{p.name}`",
        "",
        f"- command: `python -m ssl_waveform.benchmark --preset {p.name}"
        + (f" --imagenet-weights {weights}" if weights else "")
        + "`",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPU cores, {platform.python_version()}; "
        f"compute recorded over all invocations {pretrain_h + cells_h:.2f} h "
        f"({pretrain_h:.2f} h pretraining + {cells_h:.2f} h in cells; a fine-tuning "
        "cell's time is its whole fine-tuning run (data, training, per-epoch validation, saving) without the "
        f"benchmark's test-set evaluation); this invocation {wall / 60:.1f} min (finished cells are reused)",
        "- fine-tuning and probe cells train a fixed schedule and keep the last epoch (`select=last`): no "
        "labeled validation data picks the epoch, so a budget of k labels per class is k labels per class",
        f"- data: {p.unlabeled_windows} unlabeled simulated windows, {p.labeled_windows} labeled "
        f"(22 classes, 80/20 train/val), {p.test_windows} windows per simulated test set; seeds {bench.seeds}",
        f"- cells finished: {done} of {planned} runnable planned cells"
        + (" (PARTIAL RUN: tables hold only the finished cells)" if done < planned else ""),
        "- cells are mean ± sample std over seeds (n = number of seeds); the seed changes the labeled subset "
        "and the fine-tuning run, the pretrained encoders are shared",
        "",
    ]


def _not_run_section(not_run: list[dict]) -> list[str]:
    if not not_run:
        return []
    reasons = sorted({nr["reason"] for nr in not_run})
    return ["## Not run", "", *(f"- ImageNet rows: {reason}" for reason in reasons), ""]


def _axis_sections(rows: list[dict], not_run: list[dict], preset: Any, out: Path) -> list[str]:
    """Per axis and mode: a table per simulated test set and metric, then the accuracy-vs-labels plot."""
    present_tests = [
        t for t in TEST_SETS if t != "itsc_real" and any(r["test_set"] == t for r in rows)
    ]
    lines: list[str] = []
    for a in preset.axes:
        enc, rep = a.encoder, a.representation
        for mode in a.modes:
            for test_set in present_tests:
                for metric in ("accuracy", "macro_f1"):
                    table = _table(rows, test_set, metric, (enc, rep, mode), not_run)
                    if table:
                        lines += [
                            f"## {test_set} — {metric} — {enc} / {rep} / {mode}",
                            "",
                            table,
                            "",
                        ]
            plot = f"labels_{enc}_{rep}_{mode}.png"
            _plot_budget_curves(rows, (enc, rep, mode), "in_dist", out / plot)
            if (out / plot).is_file():
                lines += [f"![accuracy vs labels per class, {enc}/{rep}/{mode}]({plot})", ""]
    return lines


def _noise_section(rows: list[dict], not_run: list[dict], preset: Any, out: Path) -> list[str]:
    """Accuracy on the noisy copies of the in-distribution test set, primary axis, fine-tuned."""
    noise_tests = sorted({r["test_set"] for r in rows if r["test_set"].startswith("noise_")})
    if not noise_tests:
        return []
    enc, rep = preset.axes[0].encoder, preset.axes[0].representation
    budget = str(preset.noise_budget)
    lines = [f"## Noise robustness ({budget} labels per class, {enc} / {rep} / finetune)", ""]
    for t in noise_tests:
        table = _table(rows, t, "accuracy", (enc, rep, "finetune"), not_run)
        if table:
            lines += [f"### {t}", "", table, ""]
    if _plot_noise(rows, (enc, rep, "finetune"), budget, out / "noise_robustness.png"):
        lines += ["![noise robustness](noise_robustness.png)", ""]
    return lines


def _pretrain_cost_table(costs: list[dict]) -> list[str]:
    lines = ["## Cost", "", "| pretraining | encoder / representation | epochs | steps | wall time | samples/s | final loss |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for c in costs:
        lines.append(
            f"| {c['method']} | {c['encoder']} / {c['representation']} | {c['epochs']} | {c['steps']} | "
            f"{c['wall_time_s'] / 60:.1f} min | {c['samples_per_s']:.0f} | {c['final_loss']:.4f} |"
        )
    return lines


def _cell_cost_table(per_cell: dict[tuple, dict]) -> list[str]:
    """Mean wall time and training throughput of the finished cells, by evaluation, axis and budget."""
    groups: dict[tuple[str, str, str], dict[str, list[tuple[float, float]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for key, r in per_cell.items():
        where = f"{r['encoder']} / {r['representation']}" + (" (ITSC)" if key[-1] else "")
        groups[(where, r["mode"], r["label_budget"])][r["init"]].append(
            (float(r["wall_time_s"]), float(r.get("train_samples_per_s") or 0))
        )
    lines = [
        "",
        "| evaluation | encoder / representation | labels per class | inits | cells | mean wall time per cell "
        "| mean training samples/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for (where, mode, budget), by_init in sorted(
        groups.items(), key=lambda g: (g[0][0], g[0][1], _budget_key(g[0][2]))
    ):
        vals = [v for vs in by_init.values() for v in vs]
        rates = [v for _, v in vals if v]
        inits = ", ".join(sorted(by_init, key=_init_rank))
        lines.append(
            f"| {mode} | {where} | {budget} | {inits} | {len(vals)} | {np.mean([w for w, _ in vals]):.1f} s | "
            + (f"{np.mean(rates):.0f} |" if rates else "– |")
        )
    return lines


def _confusion_section(rows: list[dict], bench: Any, out: Path) -> list[str]:
    cm_lines = _best_worst(rows, bench, out)
    if not cm_lines:
        return []
    return ["", "## Confusion matrices (in-distribution test set)", "", *cm_lines]


def write_report(
    bench: Any, rows: list[dict], not_run: list[dict], costs: list[dict], wall: float
) -> None:
    """Write results.csv, report.md and the PNG plots into the benchmark's results folder.

    ``bench`` is a ``Benchmark`` after its run; what is read of it: ``out``, ``preset``, ``cfg``, ``seeds``,
    ``progress`` and ``class_names``.
    """
    out: Path = bench.out
    write_csv(rows, out / "results.csv")
    per_cell = {
        _cell_key(r): r for r in rows if r["metric"] == "accuracy"
    }  # one row per finished cell
    present = any(r["test_set"] == "itsc_real" for r in rows)
    lines = [
        *_header(bench, per_cell, costs, wall),
        *_not_run_section(not_run),
        *_axis_sections(rows, not_run, bench.preset, out),
        *_noise_section(rows, not_run, bench.preset, out),
        *_real_data_section(rows, not_run, present),
        *_pretrain_cost_table(costs),
        *_cell_cost_table(per_cell),
        *_confusion_section(rows, bench, out),
    ]
    atomic_write_text(out / "report.md", "\n".join(lines) + "\n")
