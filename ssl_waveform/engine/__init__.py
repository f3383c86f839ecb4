"""ssl_waveform.engine: the one training loop (accelerate), schedules, checkpoints, configs."""

from .checkpoint import (
    RunConfigMismatchError,
    TrainerState,
    checkpoint_dir,
    latest_checkpoint,
    read_trainer_state,
)
from .config import EngineConfig
from .loop import (
    NonFiniteLossError,
    RunPlan,
    TrainResult,
    make_accelerator,
    plan_run,
    read_log,
    train,
)
from .optim import param_groups
from .schedule import lr_at, scaled_peak_lr

__all__ = [
    "EngineConfig",
    "NonFiniteLossError",
    "RunConfigMismatchError",
    "RunPlan",
    "TrainResult",
    "TrainerState",
    "checkpoint_dir",
    "latest_checkpoint",
    "lr_at",
    "make_accelerator",
    "param_groups",
    "plan_run",
    "read_log",
    "read_trainer_state",
    "scaled_peak_lr",
    "train",
]
