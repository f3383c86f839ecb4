"""FCMAE-style masked-autoencoder pretraining of a ConvNeXt encoder on converter waveforms.

    accelerate launch recipes/pretrain_mae.py [--config recipes/configs/mae_gpu.yaml] [key=value ...]
    python recipes/pretrain_mae.py data=runs/corpus/unlabeled engine.epochs=20

With no arguments it pretrains convnext_atto on cycle-folded images (fold) of a built-in simulated corpus, in a few minutes on
2 CPU cores, and writes runs/pretrain_mae/encoder. Re-running the same command resumes an interrupted run.
"""

import sys

from ssl_waveform._cli import user_errors
from ssl_waveform.config import parse
from ssl_waveform.pretrain import MAEConfig, pretrain_mae


def main(argv: list[str] | None = None) -> None:
    cfg = parse(MAEConfig, argv, prog="pretrain_mae.py", description=__doc__)
    try:
        result = pretrain_mae(cfg)
    except user_errors() as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    print(
        f"done: {result.steps} steps (last epoch loss {result.loss}), encoder in {cfg.run_dir}/encoder"
    )


if __name__ == "__main__":
    main()
