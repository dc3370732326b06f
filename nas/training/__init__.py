"""The one trainer of the package: ``nas-train`` for a found network, and the loop a supernet trains with.

- :class:`Recipe` — the frozen, validated settings (optimiser, schedule, regularisation, EMA);
- :class:`TrainingTask` / :class:`StandaloneTask` — what the loop trains (a plain network is the simplest task);
- :func:`fit` — the loop (checkpoints, resume, several processes, AMP on a GPU);
- :func:`train` — a whole ``nas-train`` run: architecture and data in, a folder of outputs out.
"""

from nas.training.loop import FitResult, fit
from nas.training.recipe import Recipe, TrainingError
from nas.training.run import TrainResult, train
from nas.training.task import StandaloneTask, TrainingTask

__all__ = ["FitResult", "Recipe", "StandaloneTask", "TrainResult", "TrainingError", "TrainingTask", "fit", "train"]
