"""SimCLR pretraining (lightly projection head + gathered NT-Xent) of a ConvNeXt encoder on converter waveforms.

    accelerate launch recipes/pretrain_simclr.py [--config recipes/configs/simclr_gpu.yaml] [--flag value ...]
    python recipes/pretrain_simclr.py --data runs/corpus/unlabeled --augment light

With no arguments it pretrains convnext_atto on cycle-folded images (fold) of a built-in simulated corpus, in a few minutes on
2 CPU cores, and writes runs/pretrain_simclr/encoder. Re-running the same command resumes an interrupted run.
"""

from ssl_waveform.cli.pretrain import recipe_main
from ssl_waveform.pretrain import SimCLRConfig


def main(argv: list[str] | None = None) -> None:
    recipe_main(SimCLRConfig, argv, prog="pretrain_simclr.py", description=__doc__)


if __name__ == "__main__":
    main()
