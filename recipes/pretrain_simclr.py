"""SimCLR pretraining (lightly projection head + gathered NT-Xent) of a ConvNeXt encoder on converter waveforms.

    accelerate launch recipes/pretrain_simclr.py [--config recipes/configs/simclr_gpu.yaml] [key=value ...]
    python recipes/pretrain_simclr.py data=runs/corpus/unlabeled augment=light

With no arguments it pretrains convnext_atto on cycle-folded images (fold) of a built-in simulated corpus, in a few minutes on
2 CPU cores, and writes runs/pretrain_simclr/encoder. Re-running the same command resumes an interrupted run.
"""

import sys

from ssl_waveform._cli import user_errors
from ssl_waveform.config import parse
from ssl_waveform.pretrain import SimCLRConfig, pretrain_simclr


def main(argv: list[str] | None = None) -> None:
    cfg = parse(SimCLRConfig, argv, prog="pretrain_simclr.py", description=__doc__)
    try:
        result = pretrain_simclr(cfg)
    except user_errors() as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    print(
        f"done: {result.steps} steps (last epoch loss {result.loss}), encoder in {cfg.run_dir}/encoder"
    )


if __name__ == "__main__":
    main()
