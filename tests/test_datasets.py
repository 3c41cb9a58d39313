"""keras.datasets: the offline MNIST subset and the TF-Playground 2-D sets (NumPy path)."""
import gzip
import struct

import numpy as np
import pytest

from pykernel.keras.datasets import mnist, playground

# ---------------------------------------------------------------------------- MNIST


@pytest.fixture(scope="module")
def mnist_data():
    return mnist.load_data()


def test_mnist_shapes_dtypes(mnist_data):
    (x_train, y_train), (x_test, y_test) = mnist_data
    assert isinstance(x_train, np.ndarray)
    assert x_train.shape == (8000, 28, 28) and y_train.shape == (8000,)
    assert x_test.shape == (2000, 28, 28) and y_test.shape == (2000,)
    for a in (x_train, y_train, x_test, y_test):
        assert a.dtype == np.uint8
        assert a.flags.writeable and a.flags.c_contiguous


def test_mnist_labels_and_class_counts(mnist_data):
    (_, y_train), (_, y_test) = mnist_data
    assert y_train.min() == 0 and y_train.max() == 9
    assert y_test.min() == 0 and y_test.max() == 9
    counts = np.bincount(y_train, minlength=10)
    assert counts.sum() == 8000
    assert all(600 <= c <= 1000 for c in counts), counts
    test_counts = np.bincount(y_test, minlength=10)
    assert all(100 <= c <= 300 for c in test_counts), test_counts


def test_mnist_pixels_are_real_digits(mnist_data):
    (x_train, _), (x_test, _) = mnist_data
    assert x_train.min() == 0 and x_train.max() == 255
    assert 20 < x_train.mean() < 50
    assert 20 < x_test.mean() < 50
    # every image has ink, and the border is (mostly) empty as in MNIST
    assert (x_train.reshape(8000, -1).max(axis=1) > 100).all()
    assert x_train[:, 0, :].mean() < 1


def test_mnist_deterministic(mnist_data):
    (a, b), (c, d) = mnist_data
    (a2, b2), (c2, d2) = mnist.load_data()
    for u, v in ((a, a2), (b, b2), (c, c2), (d, d2)):
        np.testing.assert_array_equal(u, v)
    assert a2 is not a  # fresh, writable copies each call
    a2[0, 0, 0] = 7
    assert mnist.load_data()[0][0][0, 0, 0] == a[0, 0, 0]


def test_mnist_keras_default_path_name(mnist_data):
    (x, _), _ = mnist.load_data(path="mnist.npz")
    np.testing.assert_array_equal(x, mnist_data[0][0])


def _write(path, n_train=2, n_test=1, rows=3, cols=3, magic=b"PKMNIST1", extra=b"", header_n_train=None):
    header = magic + struct.pack("<IIII", n_train if header_n_train is None else header_n_train,
                                 n_test, rows, cols)
    body = bytes(range(n_train * rows * cols)) + bytes([1] * n_train)
    body += bytes(n_test * rows * cols) + bytes([2] * n_test)
    with gzip.open(path, "wb") as f:
        f.write(header + body + extra)
    return path


def test_mnist_alternative_path(tmp_path):
    (x, y), (xt, yt) = mnist.load_data(path=_write(tmp_path / "small.bin.gz"))
    assert x.shape == (2, 3, 3) and y.tolist() == [1, 1]
    assert xt.shape == (1, 3, 3) and yt.tolist() == [2]
    assert x.ravel().tolist() == list(range(18))


def test_mnist_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        mnist.load_data(path=tmp_path / "nope.bin.gz")


def test_mnist_missing_default_file_says_how_to_build(monkeypatch, tmp_path):
    monkeypatch.setattr(mnist, "DEFAULT_PATH", str(tmp_path / "mnist.bin.gz"))
    with pytest.raises(FileNotFoundError, match="make setup"):
        mnist.load_data()


def test_mnist_malformed_files(tmp_path):
    with pytest.raises(ValueError, match="bad magic"):
        mnist.load_data(path=_write(tmp_path / "magic.gz", magic=b"NOTMNIST"))
    with pytest.raises(ValueError, match="payload bytes"):
        mnist.load_data(path=_write(tmp_path / "long.gz", extra=b"\0"))
    with pytest.raises(ValueError, match="payload bytes"):
        mnist.load_data(path=_write(tmp_path / "count.gz", header_n_train=5))
    with pytest.raises(ValueError, match="image size"):
        mnist.load_data(path=_write(tmp_path / "size.gz", rows=0))
    short = tmp_path / "short.gz"
    with gzip.open(short, "wb") as f:
        f.write(b"PKMNIST1\1\0")
    with pytest.raises(ValueError, match="truncated"):
        mnist.load_data(path=short)
    notgz = tmp_path / "plain.bin"
    notgz.write_bytes(b"PKMNIST1" + bytes(16))
    with pytest.raises(ValueError, match="not a valid gzip"):
        mnist.load_data(path=notgz)
    cut = tmp_path / "cut.gz"
    cut.write_bytes(_write(tmp_path / "whole.gz").read_bytes()[:-12])
    with pytest.raises(ValueError, match="not a valid gzip"):
        mnist.load_data(path=cut)


# ----------------------------------------------------------------------- playground


@pytest.mark.parametrize("name", playground.DATASETS)
def test_playground_shapes_dtypes_balance(name):
    (x, y), (xt, yt) = playground.load_data(name, n_samples=400, noise=0.1, seed=3)
    assert isinstance(x, np.ndarray)
    assert x.shape == (200, 2) and y.shape == (200,)
    assert xt.shape == (200, 2) and yt.shape == (200,)
    assert x.dtype == np.float32 and xt.dtype == np.float32
    assert y.dtype == np.int32 and yt.dtype == np.int32
    labels = np.concatenate([y, yt])
    assert set(labels.tolist()) == {0, 1}
    assert 0.35 < labels.mean() < 0.65
    assert 0.25 < y.mean() < 0.75 and 0.25 < yt.mean() < 0.75  # shuffled before the split
    assert np.isfinite(x).all() and np.abs(x).max() < 12


@pytest.mark.parametrize("name", playground.DATASETS)
def test_playground_seeds(name):
    a = playground.load_data(name, n_samples=100, noise=0.2, seed=7)
    b = playground.load_data(name, n_samples=100, noise=0.2, seed=7)
    c = playground.load_data(name, n_samples=100, noise=0.2, seed=8)
    for u, v in zip((a[0][0], a[0][1], a[1][0], a[1][1]), (b[0][0], b[0][1], b[1][0], b[1][1])):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[0][0], c[0][0])


def test_playground_split_sizes():
    (x, y), (xt, yt) = playground.load_data("xor", n_samples=101, test_split=0.2)
    assert len(x) + len(xt) == 101 and len(xt) == 20 and len(y) == 81
    (x, y), (xt, yt) = playground.load_data("spiral", n_samples=10, test_split=0.0)
    assert x.shape == (10, 2) and xt.shape == (0, 2) and yt.shape == (0,)


def test_playground_circle_separable_by_radius():
    (x, y), (xt, yt) = playground.load_data("circle", n_samples=600, noise=0.0, seed=1)
    x, y = np.concatenate([x, xt]), np.concatenate([y, yt])
    r = np.hypot(x[:, 0], x[:, 1])
    assert r[y == 1].max() < 2.5 + 1e-5 < 3.5 - 1e-5 < r[y == 0].min()
    assert r[y == 0].max() <= 5.0 + 1e-5


def test_playground_xor_labels_match_sign():
    (x, y), (xt, yt) = playground.load_data("xor", n_samples=500, noise=0.0, seed=2)
    x, y = np.concatenate([x, xt]), np.concatenate([y, yt])
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] > 0).astype(np.int32))
    assert np.abs(x).min() >= 0.3 - 1e-6  # the margin around the axes


def test_playground_noise_flips_some_circle_labels():
    (x, y), _ = playground.load_data("circle", n_samples=1000, noise=0.5, seed=0, test_split=0.0)
    inside = (np.hypot(x[:, 0], x[:, 1]) < 2.5).astype(np.int32)
    wrong = (inside != y).mean()
    assert 0.02 < wrong < 0.5


def test_playground_gaussian_blobs():
    (x, y), _ = playground.load_data("gaussian", n_samples=1000, noise=0.0, seed=0, test_split=0.0)
    np.testing.assert_allclose(x[y == 1].mean(axis=0), [2, 2], atol=0.2)
    np.testing.assert_allclose(x[y == 0].mean(axis=0), [-2, -2], atol=0.2)
    np.testing.assert_allclose(x[y == 1].var(axis=0), [0.5, 0.5], rtol=0.25)


def test_playground_bad_args():
    with pytest.raises(ValueError, match="circle, xor, gaussian, spiral"):
        playground.load_data("moons")
    for n in (0, 1, -5, 2.5, "10", True):
        with pytest.raises(ValueError, match="n_samples"):
            playground.load_data(n_samples=n)
    for noise in (-0.1, 0.6, "0.1", None):
        with pytest.raises(ValueError, match=r"noise.*\[0, 0.5\]"):
            playground.load_data(noise=noise)
    for split in (-0.1, 1.0, 2, None):
        with pytest.raises(ValueError, match=r"test_split.*\[0, 1\)"):
            playground.load_data(test_split=split)
    assert playground.DATASETS == ("circle", "xor", "gaussian", "spiral")
