"""NaN and infinities through the WebGPU elementwise kernels give what the NumPy backend
gives. WGSL leaves NaN results of builtins to the implementation, and compilers may fold
`x != x` to false: before this was pinned, lavapipe's sign(NaN) was 0, NaN != 1 was False,
pow(NaN, y) was 0, x mod inf was NaN, and SwiftShader's log(NaN) was 89.1 (a NaN loss
looked finite: issue 9). tests/browser/test_browser_device.py runs the same cases in Chrome."""
import numpy as np
import pytest

from pykernel import dtypes
from pykernel.backends.base import BINARY_OPS, UNARY_OPS

from .conftest import upload

SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 0.5, -2.0, 1e-30, 3e38], np.float32)
OTHER = np.array([np.nan, 1.0, np.inf, -np.inf, 2.0, -3.0, 0.0, 0.5], np.float32)
FLOAT_UNARY = [op for op in UNARY_OPS if op != "logical_not"]
FLOAT_BINARY = [op for op in BINARY_OPS if not op.startswith("logical")]


def same(got, want, rtol=2e-6):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    with np.errstate(invalid="ignore"):   # inf - inf in the tolerance test of equal infinities
        return (np.isnan(got) & np.isnan(want)) | (got == want) | (np.abs(got - want) <= rtol * np.abs(want))


@pytest.mark.parametrize("op", FLOAT_UNARY)
def test_unary_ops_on_nan_and_infinities(gpu, ref, op):
    x = SPECIAL if op not in ("sin", "cos") else SPECIAL[:-1]   # sin(3e38): GPUs reduce huge arguments coarsely
    with np.errstate(all="ignore"):
        want = ref.unary(op, x)
    got = gpu.to_numpy(gpu.unary(op, upload(gpu, x)))
    ok = same(got, want)
    assert ok.all(), f"{op}: inputs {x[~ok]} gave {got[~ok]}, NumPy {want[~ok]}"


@pytest.mark.parametrize("op", FLOAT_BINARY)
def test_binary_ops_on_nan_and_infinities(gpu, ref, op):
    a, b = np.repeat(SPECIAL, len(OTHER)), np.tile(OTHER, len(SPECIAL))
    with np.errstate(all="ignore"):
        quotient = a / b
        big = np.abs(quotient) >= 2**24
    if op == "floordiv":
        # with an infinite operand WebGPU gives TF's floor(a / b) (inf // 1 = inf, 1 // -inf =
        # -0.0); NumPy's floor_divide gives nan and -1 there: compared on finite operands only
        keep = np.isfinite(a) & np.isfinite(b)
        a, b = a[keep], b[keep]
    if op == "mod":
        # a - b * floor(a / b) loses the remainder once |a / b| passes 2^24 (WGSL has no exact
        # fmod): a known limit, left out here
        keep = ~(np.isfinite(a) & np.isfinite(b) & big)
        a, b = a[keep], b[keep]
    with np.errstate(all="ignore"):
        want = ref.binary(op, a, b)
    got = gpu.to_numpy(gpu.binary(op, upload(gpu, a), upload(gpu, b)))
    ok = same(got, want)
    assert ok.all(), f"{op}: {list(zip(a[~ok], b[~ok]))} gave {got[~ok]}, NumPy {want[~ok]}"


def test_nan_is_truthy_in_casts_and_any_all(gpu):
    x = np.array([np.nan, -np.nan, 2.5, -2.5, 0.0], np.float32)
    assert gpu.to_numpy(gpu.cast(upload(gpu, x), dtypes.int64)).tolist() == [-2**63, -2**63, 2, -2, 0]
    assert gpu.to_numpy(gpu.cast(upload(gpu, x), dtypes.bool_)).tolist() == [True, True, True, True, False]
    nan_only = upload(gpu, np.array([0.0, np.nan, 0.0], np.float32))
    assert bool(gpu.to_numpy(gpu.reduce("any", nan_only, (0,), False))) is True
    assert bool(gpu.to_numpy(gpu.reduce("all", upload(gpu, np.full(9000, np.nan, np.float32)), (0,), False))) is True
