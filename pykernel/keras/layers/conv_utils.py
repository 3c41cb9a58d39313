"""Argument normalization and output-size arithmetic shared by convolution and pooling layers."""


def normalize_tuple(value, n, name):
    """(v,) * n from an int, or the given n ints; a clear error otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        values = (value,) * n
    else:
        try:
            values = tuple(int(v) for v in value)
        except (TypeError, ValueError):
            raise ValueError(f"The `{name}` argument must be an int or a tuple of {n} ints. "
                             f"Received: {name}={value!r}") from None
        if len(values) != n:
            raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. Received: {name}={value!r}")
    if any(v <= 0 for v in values):
        raise ValueError(f"The `{name}` argument must be positive. Received: {name}={value!r}")
    return values


def normalize_padding(value):
    padding = str(value).lower()
    if padding not in ("valid", "same"):
        raise ValueError(f"The `padding` argument must be 'valid' or 'same'. Received: padding={value!r}")
    return padding


def check_data_format(value):
    if value not in (None, "channels_last"):
        raise ValueError(f"Only data_format='channels_last' (NHWC) is supported in pykernel. "
                         f"Received: data_format={value!r}")
    return "channels_last"


def output_length(length, window, padding, stride, dilation=1):
    """Output size of one spatial axis (None stays None), as TF computes it."""
    if length is None:
        return None
    if padding == "same":
        return -(-length // stride)
    span = (window - 1) * dilation + 1
    return max((length - span) // stride + 1, 0)
