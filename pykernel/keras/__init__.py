"""pykernel.keras: the Keras API on pykernel tensors.

    from pykernel import keras
    model = keras.Sequential([keras.layers.Dense(10, activation="softmax")])

NumPy is never imported here: it is used lazily, and only for NumPy arrays a caller passes
in or asks for back (get_weights, predict).
"""
from . import (  # noqa: F401
    activations, backend, callbacks, datasets, initializers, layers, losses, metrics, optimizers, regularizers,
    utils,
)
from . import models  # noqa: F401
from .layers import Input, Layer  # noqa: F401
from .models import Model, Sequential  # noqa: F401

__version__ = "3.0.0-pykernel"
