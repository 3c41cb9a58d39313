"""model.summary(): the Keras table of layers, output shapes and parameter counts."""
import math


def readable_memory_size(num_bytes):
    """'397.54 KB'-style sizes, as Keras prints them."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if num_bytes < 1024 or unit == "TB":
            return f"{num_bytes:.2f} {unit}"
        num_bytes /= 1024.0
    return f"{num_bytes:.2f} PB"


def _shape_text(shape):
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return ", ".join(_shape_text(s) for s in shape)
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _params(variables):
    return sum(math.prod(v.shape) for v in variables)


def _bytes(variables):
    return sum(math.prod(v.shape) * v.dtype.itemsize for v in variables)


def print_summary(model, line_length=None, positions=None, print_fn=None):
    if not model.built:
        raise ValueError(f"The model '{model.name}' has not yet been built. Build the model first by calling "
                         "`build()` or by calling the model on a batch of data.")
    print_fn = print_fn or print
    rows = [(f"{layer.name} ({type(layer).__name__})", _shape_text(shape),
             f"{layer.count_params() if layer.built else 0:,}") for layer, shape in model._summary_rows()]
    if positions is None:  # wide enough for the longest name and shape, like Keras's defaults or wider
        name_width = max([29] + [len(r[0]) + 2 for r in rows])
        shape_width = max([26] + [len(r[1]) + 2 for r in rows])
        positions = [name_width, name_width + shape_width, name_width + shape_width + 12]
    elif positions[-1] <= 1:
        positions = [int((line_length or 65) * p) for p in positions]
    line_length = line_length or positions[-1]
    headers = ["Layer (type)", "Output Shape", "Param #"]

    def row(fields):
        line, start = "", 0
        for field, stop in zip(fields, positions):
            cell = " " + str(field)
            line += cell[: stop - start - 1].ljust(stop - start)
            start = stop
        return line.rstrip()

    print_fn(f'Model: "{model.name}"')
    print_fn("_" * line_length)
    print_fn(row(headers))
    print_fn("=" * line_length)
    for fields in rows:
        print_fn(row(fields))
    print_fn("=" * line_length)
    trainable, non_trainable = model.trainable_weights, model.non_trainable_weights
    total = trainable + non_trainable
    print_fn(f"Total params: {_params(total):,} ({readable_memory_size(_bytes(total))})")
    print_fn(f"Trainable params: {_params(trainable):,} ({readable_memory_size(_bytes(trainable))})")
    print_fn(f"Non-trainable params: {_params(non_trainable):,} ({readable_memory_size(_bytes(non_trainable))})")
    print_fn("_" * line_length)
