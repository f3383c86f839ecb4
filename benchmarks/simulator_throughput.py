"""Simulator throughput (windows/s) and, when ngspice is installed, speed ratio and NRMSE vs ngspice.

Windows: 3 channels x 2048 samples at 20 kHz, fsw 10 kHz, 50 ms settle from rest, random
operating points and the 22 switch classes. Numba compile time is excluded (a warm-up call runs
first; with ``cache=True`` later processes load the compiled kernel from disk).

Usage::

    python benchmarks/simulator_throughput.py [--windows 256] [--ngspice 3] [--threads N]
"""

from __future__ import annotations

import dataclasses
import os
import resource
import subprocess
import time

import numba
import numpy as np

from ssl_waveform.config import parse
from ssl_waveform.sim import (
    SWITCH_CLASSES,
    SimConfig,
    ngspice_available,
    nrmse,
    open_switches,
    run_ngspice,
    sample_point,
    simulate_batch,
)


@dataclasses.dataclass
class SimulatorThroughputConfig:
    """How many windows are simulated, and with how many threads.

    Attributes:
        windows: windows simulated by the numba simulator in one timed call.
        ngspice: of those, how many are also simulated by ngspice (0: no comparison).
        threads: numba threads (default: ``NUMBA_NUM_THREADS``, all logical CPUs unless set).
        seed: seed of the operating points and switch classes.
        ngspice_timeout: seconds allowed per ngspice run.
    """

    windows: int = 256
    ngspice: int = 3
    threads: int = numba.config.NUMBA_NUM_THREADS
    seed: int = 0
    ngspice_timeout: float = 180.0


def main(argv: list[str] | None = None) -> None:
    args = parse(
        SimulatorThroughputConfig,
        argv,
        prog="python benchmarks/simulator_throughput.py",
        description=__doc__,
    )
    numba.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    cfg = SimConfig(fsw=(10_000.0, 10_000.0), closed_loop_fraction=0.0)
    points = [
        dataclasses.replace(sample_point(cfg, rng)[0], fsw=10_000.0) for _ in range(args.windows)
    ]
    faults = [open_switches(SWITCH_CLASSES[int(k)]) for k in rng.integers(22, size=args.windows)]
    kw = {"sample_rate": 20_000.0, "duration": 2048 / 20_000.0, "settle": 0.05}
    t = time.perf_counter()
    simulate_batch(points[:1], faults[:1], **kw)
    compile_s = time.perf_counter() - t
    t, cpu = time.perf_counter(), time.process_time()
    x = simulate_batch(points, faults, **kw)
    dt, cpu = time.perf_counter() - t, time.process_time() - cpu
    wps = args.windows / dt
    print(f"machine: {os.cpu_count()} logical CPUs, numba threads {args.threads}")
    print(f"first call (compile or cache load, excluded): {compile_s:.2f} s")
    print(f"simulator: {args.windows} windows [3, 2048] in {dt:.2f} s = {wps:.1f} windows/s "
          f"({wps / args.threads:.1f} windows/s per thread)")  # fmt: skip
    # on a shared machine the wall-clock figure depends on other load; CPU time does not
    print(f"simulator CPU time: {cpu:.2f} s = {args.windows / cpu:.1f} windows per CPU-second")
    if args.ngspice > 0 and ngspice_available():
        errs, t_ng = [], 0.0
        child0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        for i in range(args.ngspice):
            t = time.perf_counter()
            try:
                ref = run_ngspice(points[i], faults[i], timeout=args.ngspice_timeout, **kw)
            except (RuntimeError, subprocess.TimeoutExpired) as err:
                print(f"  ngspice window {i} (open {faults[i] or 'none'}): FAILED {err!s:.200}")
                t_ng += time.perf_counter() - t
                continue
            t_ng += time.perf_counter() - t
            errs.append(nrmse(x[i], ref))
            print(f"  ngspice window {i} (open {faults[i] or 'none'}): NRMSE {errs[-1]:.4f}")
        child1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        ng_cpu = (child1.ru_utime + child1.ru_stime) - (child0.ru_utime + child0.ru_stime)
        ng_wps = args.ngspice / t_ng
        print(f"ngspice: {ng_wps:.3f} windows/s (1 process, 1 core), CPU {ng_cpu:.1f} s")
        print(f"speed ratio per CPU-second: {(args.windows / cpu) / (args.ngspice / ng_cpu):.0f}x")
        print("(failed or timed-out ngspice runs count with the time they took)")
        print(f"speed ratio per core: {wps / args.threads / ng_wps:.0f}x; "
              f"NRMSE max {max(errs, default=float('nan')):.4f}, "
              f"mean {np.mean(errs) if errs else float('nan'):.4f}")  # fmt: skip
    else:
        print("ngspice not installed: skipped the comparison")


if __name__ == "__main__":
    main()
