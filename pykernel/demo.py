"""The classic Keras MNIST example, unchanged except for the import: `python -m pykernel.demo`.

Trains Flatten -> Dense(128, relu) -> Dense(10, softmax) with Adam on the built-in MNIST
subset (8000 training / 2000 test digits) and prints the test accuracy.
"""
import argparse
import time

import pykernel as tf
from pykernel import keras


def build_model():
    model = keras.Sequential([
        keras.layers.Flatten(input_shape=(28, 28)),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2, help="training epochs (default 2)")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default 32, as in Keras)")
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2), help="Keras fit verbosity")
    parser.add_argument("--seed", type=int, default=None, help="seed for reproducible runs")
    args = parser.parse_args(argv)
    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)

    print(f"pykernel {tf.__version__} on device {tf.config.get_device()}")
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    x_train, x_test = x_train / 255.0, x_test / 255.0

    model = build_model()
    model.summary()
    start = time.time()
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
              validation_data=(x_test, y_test), verbose=args.verbose)
    train_seconds = time.time() - start
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"Test accuracy: {accuracy:.4f} (loss {loss:.4f}); trained {args.epochs} epoch(s) in {train_seconds:.1f}s")
    return accuracy


if __name__ == "__main__":
    main()
