"""Built-in datasets, Keras style: ``keras.datasets.mnist.load_data()``.

Nothing here imports NumPy at import time: loaders return NumPy arrays when NumPy is
importable and pykernel tensors otherwise (e.g. offline Pyodide).
"""
from . import mnist, playground  # noqa: F401

__all__ = ["mnist", "playground"]
