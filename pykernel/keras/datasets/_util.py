"""Helpers shared by the dataset loaders (no NumPy at import time)."""


def numpy_or_none():
    """The numpy module if it can be imported, else None."""
    try:
        import numpy
    except ImportError:
        return None
    return numpy
