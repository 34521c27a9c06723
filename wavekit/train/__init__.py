"""Training: one model-agnostic Trainer, strict experiment configs, checkpoints, torchrun/DDP.

>>> exp = load_experiment("conf/train.yaml", ["train.steps=1000"])
>>> trainer = prepare_training(exp, "exp/run1")
>>> trainer.train()                       # or trainer.train(resume=True)
>>> model = load_model("exp/run1/checkpoints/last.pt")   # same as wavekit.load
"""

from wavekit.config import apply_overrides, from_dict, load_yaml, to_dict
from wavekit.train.checkpoint import load_checkpoint, load_model, save_checkpoint
from wavekit.train.distributed import LossModule
from wavekit.train.experiment import (
    ExperimentConfig,
    experiment_from_dict,
    experiment_to_yaml,
    load_experiment,
    prepare_training,
)
from wavekit.train.optim import EMA, TrainConfig, lr_factor
from wavekit.train.trainer import Trainer

__all__ = [
    "EMA",
    "ExperimentConfig",
    "LossModule",
    "TrainConfig",
    "Trainer",
    "apply_overrides",
    "experiment_from_dict",
    "experiment_to_yaml",
    "from_dict",
    "load_checkpoint",
    "load_experiment",
    "load_model",
    "load_yaml",
    "lr_factor",
    "prepare_training",
    "save_checkpoint",
    "to_dict",
]
