"""LearningRateScheduler: set the optimizer's rate at the start of every epoch."""
from .callback import Callback


class LearningRateScheduler(Callback):
    """`schedule(epoch, lr) -> new lr` (or `schedule(epoch)`), called before each epoch."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        current = float(optimizer.learning_rate)
        try:
            lr = self.schedule(epoch, current)
        except TypeError:  # a schedule of the epoch alone (the older signature)
            lr = self.schedule(epoch)
        lr = float(lr)
        if lr != lr or lr in (float("inf"), float("-inf")):
            raise ValueError(f'The output of the "schedule" function should be a finite float. Got: {lr}')
        optimizer.learning_rate = lr
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)
