"""Make the shipped converter encoder: broad corpus, pretraining variant chosen on a shifted validation split,
one long pretraining run within a wall-clock budget.

Stages (a rerun with the same ``--out`` resumes: finished ablation rows and the final run's planned length are kept):
1. The broad pretraining corpus, in a background process: exactly the documented command
   ``python -m ssl_waveform.simulate --out OUT/data/broad --windows 200000 --seed 2026 --pretraining``.
2. The benchmark's labeled pool and the cpu preset's 20,000-window unlabeled corpus (``benchmark.datasets``).
3. Each pretraining variant (``--variants``) runs ``--ablation-steps`` steps on the 20,000 windows, then is
   fine-tuned on the low operating-point part of the labeled pool (5 labels per class, 3 seeds) and scored on
   the disjoint high part (``benchmark.shift``): no benchmark test set is read. Scratch is scored the same way.
4. The variant with the best mean high-part accuracy is pretrained on the broad corpus for as many steps as
   the remaining budget allows (measured from its ablation run), at most ``--max-steps``.
5. ``OUT/encoder`` (fp32 encoder folder) and ``OUT/summary.json`` (ablation table, steps, samples, wall time,
   machine). ``ssl_waveform.zoo.build.ship_encoder`` then adds it to the package (fp16, checksums, card).

Run on one GPU (docs/results.md records the run): ``python recipes/ship_encoder.py --out /tmp/ship --budget-s 480
--batch-size 512 --ablation-steps 200 --ablation-share 0.5`` (an H200 and 16 cores: 7 minutes).
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Literal, get_args

import torch

from ssl_waveform._atomic import atomic_write_json
from ssl_waveform.benchmark.datasets import sim_corpus
from ssl_waveform.benchmark.presets import PRESETS
from ssl_waveform.benchmark.shift import shift_scores, split_by_operating_point
from ssl_waveform.config import parse
from ssl_waveform.engine import EngineConfig
from ssl_waveform.engine.config import MixedPrecision
from ssl_waveform.evaluation import mean_sd
from ssl_waveform.pretrain import MAEConfig, SimCLRConfig, pretrain_mae, pretrain_simclr

Variant = Literal["simclr-invariant", "simclr-default", "mae-invariant", "mae-none"]
# method and augmentation of each candidate (the MAE augments what it reconstructs from)
VARIANTS: dict[str, tuple[str, str]] = {
    "simclr-invariant": ("simclr", "invariant"),
    "simclr-default": ("simclr", "default"),
    "mae-invariant": ("mae", "invariant"),
    "mae-none": ("mae", "none"),
}


@dataclasses.dataclass
class ShipEncoderConfig:
    """The job's output folder, budget and candidates.

    Attributes:
        out: output folder (a rerun with the same one resumes).
        windows: broad corpus size.
        budget_s: wall-clock budget of the whole job, in seconds.
        ablation_share: share of the budget for stage 3 (the ablation).
        ablation_steps: pretraining steps of each variant in the ablation.
        variants: pretraining variants compared in the ablation.
        seeds: fine-tuning seeds of each variant's shifted-split score.
        batch_size: pretraining batch size (ablation and final run).
        precision: mixed precision of pretraining and fine-tuning.
        max_steps: most steps of the final pretraining run.
        margin_s: seconds kept for export at the end.
        sim_threads: numba threads of the background simulate process (default: CPU count - 4, at
            least 1).
    """

    out: Path = Path("runs/ship")
    windows: int = 200_000
    budget_s: float = 7200.0
    ablation_share: float = 0.35
    ablation_steps: int = 300
    variants: tuple[Variant, ...] = get_args(Variant)
    seeds: tuple[int, ...] = (0, 1, 2)
    batch_size: int = 256
    precision: MixedPrecision = "no"
    max_steps: int = 100_000
    margin_s: float = 45.0
    sim_threads: int = max(1, (os.cpu_count() or 2) - 4)


def log(msg: str, out: Path) -> None:
    line = f"[{time.strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)
    with open(out / "log.txt", "a") as f:
        f.write(line + "\n")


def engine(args: ShipEncoderConfig, method: str, steps: int) -> EngineConfig:
    """The method's default engine (lr, betas, weight decay of ``MAEConfig`` / ``SimCLRConfig``) with a fixed step
    count, 5 % warmup, this run's batch size and precision."""
    defaults = (SimCLRConfig if method == "simclr" else MAEConfig)().engine
    return dataclasses.replace(
        defaults,
        max_steps=steps,
        batch_size=args.batch_size,
        warmup_steps=max(1, steps // 20),
        mixed_precision=args.precision,
        checkpoint_every=500,
        log_every=50,
    )


def pretrain(variant: str, data: Path, run_dir: Path, steps: int, args: ShipEncoderConfig) -> float:
    """Pretrain one variant (resuming ``run_dir``); returns the steps per second of this call, which is only a
    rate when the run started fresh (the callers keep the first measurement)."""
    method, augment = VARIANTS[variant]
    eng = engine(args, method, steps)
    start = time.time()
    if method == "simclr":
        result = pretrain_simclr(
            SimCLRConfig(data=str(data), run_dir=str(run_dir), augment=augment, engine=eng)
        )
    else:
        result = pretrain_mae(
            MAEConfig(data=str(data), run_dir=str(run_dir), augment=augment, engine=eng)
        )
    return result.steps / max(time.time() - start, 1e-9)


def ablation(args: ShipEncoderConfig, deadline: float) -> dict[str, Any]:
    out = args.out
    preset = PRESETS["cpu"]
    unlabeled = sim_corpus(out, "unlabeled", preset)
    low, high = split_by_operating_point(sim_corpus(out, "labeled", preset), out / "shift")
    # a rerun keeps every finished row (and its measured rate) and runs only what is missing
    table_file = out / "ablation.json"
    table: dict[str, Any] = json.loads(table_file.read_text()) if table_file.is_file() else {}
    # accelerate's state is process-wide: fine-tuning runs with the pretraining's mixed precision
    same = {"mixed_precision": args.precision}
    scratch = shift_scores(
        low, high, "scratch", out / "shift" / "scratch", list(args.seeds), engine_changes=same
    )
    table["scratch"] = {"high": scratch.high, "in_range": scratch.in_range}
    log(f"scratch: high {mean_sd(scratch.high)}, in range {mean_sd(scratch.in_range)}", out)
    for variant in args.variants:
        if variant in table:
            continue
        if time.time() > deadline:
            log(f"ablation budget spent: {variant} not run", out)
            break
        run_dir = out / "ablation" / variant
        rate = pretrain(variant, unlabeled, run_dir, args.ablation_steps, args)
        scores = shift_scores(
            low,
            high,
            str(run_dir / "encoder"),
            out / "shift" / variant,
            list(args.seeds),
            engine_changes=same,
        )
        table[variant] = {"high": scores.high, "in_range": scores.in_range, "steps_per_s": rate}
        log(
            f"{variant}: high {mean_sd(scores.high)}, in range {mean_sd(scores.in_range)}, "
            f"{rate:.2f} steps/s",
            out,
        )
        atomic_write_json(table_file, table, indent=1)
    return table


def main(argv: list[str] | None = None) -> None:
    args = parse(
        ShipEncoderConfig, argv, prog="python recipes/ship_encoder.py", description=__doc__
    )
    t0 = time.time()
    args.out.mkdir(parents=True, exist_ok=True)
    broad = args.out / "data" / "broad"
    env = dict(os.environ, NUMBA_NUM_THREADS=str(args.sim_threads))
    sim_cmd = [
        sys.executable, "-m", "ssl_waveform.simulate", "--out", str(broad),
        "--windows", str(args.windows), "--seed", "2026", "--pretraining",
    ]  # fmt: skip
    sim_log = open(args.out / "simulate.log", "w")  # the child writes it until the end
    sim = subprocess.Popen(sim_cmd, env=env, stdout=sim_log, stderr=subprocess.STDOUT)
    log(f"started {' '.join(sim_cmd[1:])} with {args.sim_threads} numba threads", args.out)

    table = ablation(args, t0 + args.ablation_share * args.budget_s)
    ranked = sorted(
        (v for v in table if v != "scratch"),
        key=lambda v: (statistics.mean(table[v]["high"]), statistics.mean(table[v]["in_range"])),
        reverse=True,
    )
    if not ranked:
        raise SystemExit(
            "no pretraining variant finished inside --ablation-share of --budget-s: raise either"
        )
    chosen = ranked[0]
    log(f"chosen on the shifted validation split: {chosen} (ranking {ranked})", args.out)
    if sim.wait() != 0:
        raise SystemExit(f"simulate failed: see {args.out / 'simulate.log'}")
    t_corpus = time.time() - t0
    log(f"broad corpus ready after {t_corpus:.0f} s", args.out)

    # the final run's length is decided once (a resumed run must keep its schedule)
    plan_file = args.out / "final_plan.json"
    rate = table[chosen]["steps_per_s"]
    if plan_file.is_file():
        steps = int(json.loads(plan_file.read_text())["steps"])
    else:
        left = args.budget_s - (time.time() - t0) - args.margin_s
        steps = int(min(args.max_steps, max(100, left * rate * 0.9)))
        atomic_write_json(plan_file, {"variant": chosen, "steps": steps})
    log(f"final run: {chosen}, {steps} steps of {args.batch_size} ({rate:.2f} steps/s)", args.out)
    start = time.time()
    pretrain(chosen, broad, args.out / "final", steps, args)
    wall = time.time() - start
    enc_src = args.out / "final" / "encoder"
    (args.out / "encoder").mkdir(exist_ok=True)
    for f in ("model.safetensors", "config.json"):
        (args.out / "encoder" / f).write_bytes((enc_src / f).read_bytes())
    summary = {
        "chosen": chosen,
        "ablation": table,
        "ablation_steps": args.ablation_steps,
        "final_steps": steps,
        "batch_size": args.batch_size,
        "samples_seen": steps * args.batch_size,
        "final_wall_s": round(wall, 1),
        "total_wall_s": round(time.time() - t0, 1),
        "corpus_wall_s": round(t_corpus, 1),
        "windows": args.windows,
        "precision": args.precision,
        "machine": {
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "torch": torch.__version__,
        },
        "command": " ".join(sys.argv),
    }
    atomic_write_json(args.out / "summary.json", summary, indent=1)
    log(f"done: {json.dumps(summary)}", args.out)


if __name__ == "__main__":
    main()
