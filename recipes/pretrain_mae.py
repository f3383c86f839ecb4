"""FCMAE-style masked-autoencoder pretraining of a ConvNeXt encoder on converter waveforms.

    accelerate launch recipes/pretrain_mae.py [--config recipes/configs/mae_gpu.yaml] [--flag value ...]
    python recipes/pretrain_mae.py --data runs/corpus/unlabeled --epochs 20

With no arguments it pretrains convnext_atto on cycle-folded images (fold) of a built-in simulated corpus, in a few minutes on
2 CPU cores, and writes runs/pretrain_mae/encoder. Re-running the same command resumes an interrupted run.
"""

from ssl_waveform.cli.pretrain import recipe_main
from ssl_waveform.pretrain import MAEConfig


def main(argv: list[str] | None = None) -> None:
    recipe_main(MAEConfig, argv, prog="pretrain_mae.py", description=__doc__)


if __name__ == "__main__":
    main()
