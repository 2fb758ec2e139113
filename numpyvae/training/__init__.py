"""Training: the minibatch SGVB loop, its settings, logs, progress display and checkpoints.

>>> trainer = Trainer(model, epochs=10, batch_size=100, optimizer="adam", lr=1e-3,
...                   checkpoint_path="run/checkpoint.npz", log_path="run/log.csv")
>>> history = trainer.fit(x_train, x_test=x_test)
>>> model = load_model("run/checkpoint.npz")
"""
from .checkpoint import Checkpoint, load_checkpoint, load_model, save_checkpoint
from .config import TrainConfig
from ..evaluation.bounds import mean_bound
from ..models.conditioning import one_hot
from .log import TrainingLog, read_log
from .progress import Progress
from .trainer import Trainer, TrainingDiverged

__all__ = [
    "Trainer", "TrainConfig", "TrainingDiverged", "Checkpoint", "save_checkpoint", "load_checkpoint",
    "load_model", "TrainingLog", "read_log", "Progress", "mean_bound", "one_hot",
]
