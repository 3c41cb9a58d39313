"""tf.print: print tensors' values when the op runs (at every call of a traced function)."""
import sys

from .. import nest
from ..tensor import Tensor


def print_(*inputs, output_stream=None, summarize=3, sep=" ", end="\n", name=None):
    """Print `inputs` like TF: tensors as their values (`[1 2 3]`, the first and last
    `summarize` entries of long dimensions; -1 prints all), other values with str().

    Inside tf.function this is a graph node: it prints at every call, not only while tracing
    (Python's print). `output_stream` is sys.stderr (TF's default), sys.stdout, or
    'file://path' to append to a file."""
    from ..graph.trace import current
    tensors = [x for x in nest.flatten(inputs) if isinstance(x, Tensor) or hasattr(x, "read_value")]
    tensors = [x.read_value() if not isinstance(x, Tensor) else x for x in tensors]

    def render(values):
        it = iter(values)
        flat = [next(it) if isinstance(x, Tensor) or hasattr(x, "read_value") else x
                for x in nest.flatten(inputs)]
        shown = nest.pack_sequence_as(inputs, flat)
        _write(sep.join(_format(x, summarize) for x in shown) + end, output_stream)

    tracing = current()
    if tracing is not None:
        tracing.print_values([t._buf for t in tensors], render)
    else:
        render(tensors)


def _write(text, stream):
    if isinstance(stream, str):
        if not stream.startswith("file://"):
            raise ValueError(f"tf.print: output_stream {stream!r} is not supported; use sys.stdout, "
                             "sys.stderr or 'file://path'")
        with open(stream[len("file://"):], "a") as f:
            f.write(text)
        return
    target = stream if stream is not None else sys.stderr
    target.write(text)
    if hasattr(target, "flush"):
        target.flush()


def _format(x, summarize):
    if isinstance(x, Tensor):
        return _format_values(x.tolist(), x.dtype, summarize)
    if isinstance(x, (list, tuple)):
        return "[" + ", ".join(_format(v, summarize) for v in x) + "]"
    if isinstance(x, dict):
        return "{" + ", ".join(f"{k!r}: {_format(v, summarize)}" for k, v in x.items()) + "}"
    return str(x)


def _format_values(values, dtype, summarize):
    if not isinstance(values, list):
        return _scalar(values, dtype)
    items = [_format_values(v, dtype, summarize) for v in values]
    if 0 <= summarize < len(items) // 2 and len(items) > 2 * summarize:
        items = items[:summarize] + ["..."] + items[-summarize:]
    joiner = " " if not values or not isinstance(values[0], list) else "\n "
    return "[" + joiner.join(items) + "]"


def _scalar(v, dtype):
    if dtype.is_bool:
        return "1" if v else "0"
    if dtype.is_floating:
        return format(v, "g")
    return str(v)
