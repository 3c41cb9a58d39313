"""Helpers the Keras test modules share (imported by name: tests/ is on sys.path).

    from keras_helpers import TracingCounts, seeded   # noqa: F401  (seeded is an autouse fixture)
"""
import pytest

from pykernel import keras
from pykernel.graph import Function


@pytest.fixture(autouse=True)
def seeded():
    """Every test starts from seed 1234 and fresh layer names, and leaves none behind."""
    keras.utils.set_random_seed(1234)
    keras.backend.clear_session()
    yield
    keras.backend.clear_session()


class TracingCounts(keras.callbacks.Callback):
    """The train step's tracing count at the end of every epoch (None when it is not a tf.function)."""

    def __init__(self):
        super().__init__()
        self.counts = []

    def on_epoch_end(self, epoch, logs=None):
        step = self.model.train_function
        self.counts.append(step.experimental_get_tracing_count() if isinstance(step, Function) else None)
