"""ssl_waveform.engine: the one training loop (accelerate), schedules, checkpoints, configs."""

from .checkpoint import (
    RunConfigMismatchError,
    TrainerState,
    checkpoint_dir,
    latest_checkpoint,
    read_trainer_state,
)
from .cli import parse_recipe_args
from .config import EngineConfig
from .config_io import (
    ConfigError,
    config_to_dict,
    load_config,
    parse_override,
    save_config,
    valid_keys,
)
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
    "ConfigError",
    "EngineConfig",
    "NonFiniteLossError",
    "RunConfigMismatchError",
    "RunPlan",
    "TrainResult",
    "TrainerState",
    "checkpoint_dir",
    "config_to_dict",
    "latest_checkpoint",
    "load_config",
    "lr_at",
    "make_accelerator",
    "param_groups",
    "parse_override",
    "parse_recipe_args",
    "plan_run",
    "read_log",
    "read_trainer_state",
    "save_config",
    "scaled_peak_lr",
    "train",
    "valid_keys",
]
